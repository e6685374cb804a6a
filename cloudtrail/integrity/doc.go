// Package integrity checks CloudTrail log file integrity while the plugin
// ingests: for each digest file CloudTrail delivers (one per hour, account,
// region and trail) it verifies the digest's RSA signature, its link to the
// previous digest of the same chain, and that every log file the digest
// lists still exists with the SHA-256 it names.
//
// The algorithm follows AWS's reference implementation of
// `aws cloudtrail validate-logs` (aws/aws-cli,
// awscli/customizations/cloudtrail/validation.py: DigestProvider.fetch_digest,
// DigestTraverser._load_and_validate_digest,
// Sha256RSADigestValidator._create_string_to_sign, CloudTrailValidateLogs._download_log)
// and the CloudTrail user guide pages "CloudTrail digest file structure"
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html)
// and "Validating CloudTrail log file integrity with custom implementations"
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html).
// Where this package departs from validate-logs it says why: validate-logs
// walks a chain backwards over a time range; this package sees one digest
// at a time, as its notification arrives, and looks the previous digest up
// by the key the digest names.
//
// Nothing here decides what happens to the SQS message: Check returns a
// Result (a finding, which becomes a record) or an error (AWS trouble, or a
// digest too hostile to check), and the collector treats the error like a
// failed object.
package integrity
