# CloudTrail -> S3 -> SQS (+ dead-letter queue) -> in_cloudtrail, with a least-privilege reader role.
# The same path as ../cloudformation.yaml. Use it as a module:
#
#   module "cloudtrail_fluentbit" {
#     source               = "./conf/aws/terraform"
#     name_prefix          = "cloudtrail-fluentbit"
#     reader_principal_arn = "arn:aws:iam::111122223333:role/fluent-bit"
#     external_id          = var.external_id
#   }
#
# then give the outputs to the plugin (queue_url, role_arn, external_id) and run cloudtrail-check.
terraform {
  required_version = ">= 1.3"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}
