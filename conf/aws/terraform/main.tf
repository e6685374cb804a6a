data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account     = data.aws_caller_identity.current.account_id
  partition   = data.aws_partition.current.partition
  region      = data.aws_region.current.name
  bucket_name = "${var.name_prefix}-${local.account}-${local.region}"
  trail_arn   = "arn:${local.partition}:cloudtrail:${local.region}:${local.account}:trail/${var.name_prefix}"
  use_kms     = var.kms_key_arn != null
}

# --- queues ----------------------------------------------------------------------------------

resource "aws_sqs_queue" "dlq" {
  name                      = "${var.name_prefix}-dlq"
  message_retention_seconds = 1209600 # longer than the queue's: SQS keeps the original enqueue time
  sqs_managed_sse_enabled   = true
}

resource "aws_sqs_queue" "queue" {
  name                       = var.name_prefix
  visibility_timeout_seconds = 300 # the plugin asks its own visibility_timeout on every receive
  message_retention_seconds  = var.queue_retention_seconds
  receive_wait_time_seconds  = 20
  sqs_managed_sse_enabled    = true # SQS-managed keys: S3/SNS/EventBridge need no KMS grant to send
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_policy" "queue" {
  queue_url = aws_sqs_queue.queue.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "NotificationsOnly"
      Effect    = "Allow"
      Principal = { Service = { direct = "s3.amazonaws.com", sns = "sns.amazonaws.com", eventbridge = "events.amazonaws.com" }[var.notification_path] }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.queue.arn
      Condition = {
        ArnEquals = {
          "aws:SourceArn" = {
            direct      = "arn:${local.partition}:s3:::${local.bucket_name}"
            sns         = one(aws_sns_topic.objects[*].arn)
            eventbridge = one(aws_cloudwatch_event_rule.objects[*].arn)
          }[var.notification_path]
        }
      }
    }]
  })
}

# --- bucket ----------------------------------------------------------------------------------

resource "aws_s3_bucket" "trail" {
  bucket = local.bucket_name
}

resource "aws_s3_bucket_ownership_controls" "trail" {
  bucket = aws_s3_bucket.trail.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "trail" {
  bucket                  = aws_s3_bucket.trail.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "trail" {
  bucket = aws_s3_bucket.trail.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.use_kms ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = local.use_kms
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "trail" {
  bucket = aws_s3_bucket.trail.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.object_expiration_days
    }
  }
}

resource "aws_s3_bucket_policy" "trail" {
  bucket     = aws_s3_bucket.trail.id
  depends_on = [aws_s3_bucket_public_access_block.trail]
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "CloudTrailAclCheck"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "s3:GetBucketAcl"
        Resource  = aws_s3_bucket.trail.arn
        Condition = { StringEquals = { "aws:SourceArn" = local.trail_arn } }
      },
      {
        Sid       = "CloudTrailWrite"
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.trail.arn}/AWSLogs/${local.account}/*"
        Condition = { StringEquals = { "s3:x-amz-acl" = "bucket-owner-full-control", "aws:SourceArn" = local.trail_arn } }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.trail.arn, "${aws_s3_bucket.trail.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_cloudtrail" "trail" {
  count                         = var.create_trail ? 1 : 0
  name                          = var.name_prefix
  s3_bucket_name                = aws_s3_bucket.trail.id
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  kms_key_id                    = var.kms_key_arn
  depends_on                    = [aws_s3_bucket_policy.trail]
}

# --- notification: direct, SNS or EventBridge ------------------------------------------------

resource "aws_s3_bucket_notification" "trail" {
  bucket      = aws_s3_bucket.trail.id
  eventbridge = var.notification_path == "eventbridge"

  dynamic "queue" {
    for_each = var.notification_path == "direct" ? [1] : []
    content {
      queue_arn     = aws_sqs_queue.queue.arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = "AWSLogs/"
      filter_suffix = ".json.gz"
    }
  }

  dynamic "topic" {
    for_each = var.notification_path == "sns" ? [1] : []
    content {
      topic_arn     = aws_sns_topic.objects[0].arn
      events        = ["s3:ObjectCreated:*"]
      filter_prefix = "AWSLogs/"
      filter_suffix = ".json.gz"
    }
  }

  # S3 checks that it may send to the destination when the notification is saved.
  depends_on = [aws_sqs_queue_policy.queue, aws_sns_topic_policy.objects]
}

resource "aws_sns_topic" "objects" {
  count = var.notification_path == "sns" ? 1 : 0
  name  = "${var.name_prefix}-objects"
}

resource "aws_sns_topic_policy" "objects" {
  count = var.notification_path == "sns" ? 1 : 0
  arn   = aws_sns_topic.objects[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.objects[0].arn
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:${local.partition}:s3:::${local.bucket_name}" } }
    }]
  })
}

resource "aws_sns_topic_subscription" "objects" {
  count                = var.notification_path == "sns" ? 1 : 0
  topic_arn            = aws_sns_topic.objects[0].arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.queue.arn
  raw_message_delivery = true
}

resource "aws_cloudwatch_event_rule" "objects" {
  count = var.notification_path == "eventbridge" ? 1 : 0
  name  = "${var.name_prefix}-objects"
  event_pattern = jsonencode({
    source        = ["aws.s3"]
    "detail-type" = ["Object Created"]
    detail = {
      bucket = { name = [local.bucket_name] }
      object = { key = [{ prefix = "AWSLogs/" }] }
    }
  })
}

resource "aws_cloudwatch_event_target" "objects" {
  count     = var.notification_path == "eventbridge" ? 1 : 0
  rule      = aws_cloudwatch_event_rule.objects[0].name
  target_id = "queue"
  arn       = aws_sqs_queue.queue.arn
}
