variable "name_prefix" {
  description = "Prefix of every name (bucket, queues, role, trail)."
  type        = string
  default     = "cloudtrail-fluentbit"
}

variable "create_trail" {
  description = "Create a multi-region trail writing to the bucket (false when an organization trail or an existing trail is pointed at it)."
  type        = bool
  default     = true
}

variable "notification_path" {
  description = "How S3 tells the queue about new objects: direct, sns or eventbridge. The plugin reads all three shapes."
  type        = string
  default     = "direct"
  validation {
    condition     = contains(["direct", "sns", "eventbridge"], var.notification_path)
    error_message = "notification_path must be direct, sns or eventbridge."
  }
}

variable "kms_key_arn" {
  description = "KMS key the trail encrypts its files with (SSE-KMS; its key policy must let cloudtrail.amazonaws.com use it). Null: SSE-S3."
  type        = string
  default     = null
}

variable "reader_principal_arn" {
  description = "Principal that runs Fluent Bit and assumes the reader role (role_arn) with external_id. Null: no such trust."
  type        = string
  default     = null
}

variable "external_id" {
  description = "External ID the reader principal must present (the plugin's external_id). Required with reader_principal_arn."
  type        = string
  default     = null
  sensitive   = true
}

variable "eks_oidc_provider_arn" {
  description = "IRSA: the EKS cluster's OIDC provider ARN; the reader role then trusts the service account below directly (no role_arn needed in the plugin). Null: no IRSA trust."
  type        = string
  default     = null
}

variable "eks_service_account" {
  description = "IRSA: namespace:name of the Kubernetes service account (conf/kubernetes)."
  type        = string
  default     = "logging:fluent-bit-cloudtrail"
}

variable "queue_retention_seconds" {
  description = "How long notifications wait in the queue (4 days; the dead-letter queue keeps 14)."
  type        = number
  default     = 345600
}

variable "max_receive_count" {
  description = "Receives before a failing notification moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "object_expiration_days" {
  description = "Days the trail's files are kept in the bucket."
  type        = number
  default     = 365
}

variable "backfill_policy" {
  description = "Also create a managed policy for the people who run cloudtrail-backfill (attach it to them)."
  type        = bool
  default     = false
}
