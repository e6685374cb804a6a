output "queue_url" {
  description = "queue_url"
  value       = aws_sqs_queue.queue.id
}

output "role_arn" {
  description = "role_arn (with external_id), or the eks.amazonaws.com/role-arn annotation of the service account (IRSA)"
  value       = aws_iam_role.reader.arn
}

output "bucket_name" {
  description = "bucket_allowlist"
  value       = aws_s3_bucket.trail.id
}

output "dead_letter_queue_url" {
  description = "Where failed notifications go; redrive them after fixing the cause."
  value       = aws_sqs_queue.dlq.id
}

output "backfill_policy_arn" {
  description = "Attach to whoever runs cloudtrail-backfill (null unless backfill_policy)."
  value       = one(aws_iam_policy.backfill[*].arn)
}
