# The reader role. Every action granted here is one the plugin or cloudtrail-check calls; a test
# (test/deploy) derives the calls from the Go code and compares them with this file.

data "aws_iam_policy_document" "trust" {
  dynamic "statement" {
    for_each = var.reader_principal_arn != null ? [1] : []
    content {
      sid     = "AssumeWithExternalId"
      effect  = "Allow"
      actions = ["sts:AssumeRole"]
      principals {
        type        = "AWS"
        identifiers = [var.reader_principal_arn]
      }
      condition {
        test     = "StringEquals"
        variable = "sts:ExternalId"
        values   = [var.external_id]
      }
    }
  }

  dynamic "statement" {
    for_each = var.eks_oidc_provider_arn != null ? [1] : []
    content {
      sid     = "IRSA"
      effect  = "Allow"
      actions = ["sts:AssumeRoleWithWebIdentity"]
      principals {
        type        = "Federated"
        identifiers = [var.eks_oidc_provider_arn]
      }
      condition {
        test     = "StringEquals"
        variable = "${element(split("oidc-provider/", coalesce(var.eks_oidc_provider_arn, "oidc-provider/none")), 1)}:sub"
        values   = ["system:serviceaccount:${var.eks_service_account}"]
      }
      condition {
        test     = "StringEquals"
        variable = "${element(split("oidc-provider/", coalesce(var.eks_oidc_provider_arn, "oidc-provider/none")), 1)}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }
}

data "aws_iam_policy_document" "reader" {
  statement {
    sid = "Queue"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.queue.arn]
  }

  statement {
    sid       = "DeadLetterQueueDepth"
    actions   = ["sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.dlq.arn]
  }

  # Log files and, for integrity on, the digest files under
  # AWSLogs/.../CloudTrail-Digest/ with the log files they list.
  statement {
    sid       = "TrailObjects"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.trail.arn}/AWSLogs/*"]
  }

  # integrity on: the public keys that verify digest files
  # (ListPublicKeys has no resource-level permissions).
  statement {
    sid       = "DigestPublicKeys"
    actions   = ["cloudtrail:ListPublicKeys"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = local.use_kms ? [1] : []
    content {
      sid       = "TrailKey"
      actions   = ["kms:Decrypt"]
      resources = [var.kms_key_arn]
      condition {
        test     = "StringEquals"
        variable = "kms:ViaService"
        values   = ["s3.${local.region}.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "reader" {
  name                 = "${var.name_prefix}-reader"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600

  lifecycle {
    precondition {
      condition     = var.reader_principal_arn != null || var.eks_oidc_provider_arn != null
      error_message = "Set reader_principal_arn (with external_id) or eks_oidc_provider_arn: the role must trust someone."
    }
    precondition {
      condition     = var.reader_principal_arn == null || var.external_id != null
      error_message = "external_id is required with reader_principal_arn."
    }
  }
}

resource "aws_iam_role_policy" "reader" {
  name   = "in-cloudtrail-reader"
  role   = aws_iam_role.reader.id
  policy = data.aws_iam_policy_document.reader.json
}

# The backfill operator (optional): cloudtrail-backfill lists the trail's files and sends
# notifications for them to the queue. Every action here is one it calls (test/deploy).
data "aws_iam_policy_document" "backfill" {
  statement {
    sid       = "ListTrailFiles"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.trail.arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["AWSLogs/*"]
    }
  }

  statement {
    sid       = "EnqueueNotifications"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.queue.arn]
  }
}

resource "aws_iam_policy" "backfill" {
  count  = var.backfill_policy ? 1 : 0
  name   = "${var.name_prefix}-backfill-operator"
  policy = data.aws_iam_policy_document.backfill.json
}
