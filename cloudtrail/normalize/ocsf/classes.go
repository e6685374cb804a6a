package ocsf

import "github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/common"

// OCSF class numbers.
const (
	classAccountChange  = 3001
	classAuthentication = 3002
	classAPIActivity    = 6003
)

// authLogon lists the Authentication (3002) events with their activity:
// 1 Logon, 99 Other. The list is the class selector of the OCSF examples
// repository (see docs/schemas.md), which agrees with every AWS sample.
var authEvents = map[string]int{
	"ConsoleLogin":              1,
	"ExternalIdPDirectoryLogin": 1,
	"UserAuthentication":        1,
	"AssumeRole":                1,
	"AssumeRoleWithSAML":        1,
	"AssumeRoleWithWebIdentity": 1,
	"CheckMfa":                  99,
	"CredentialChallenge":       99,
	"CredentialVerification":    99,
}

// authSources are the services whose events can be Authentication: other
// services reuse some of the names (e.g. Transfer Family has no ConsoleLogin,
// but many services have a CreateUser), so the name alone is not enough.
var authSources = map[string]bool{
	"signin.amazonaws.com": true,
	"sts.amazonaws.com":    true,
	"sso.amazonaws.com":    true,
}

// Account Change (3001) activity ids.
const (
	acCreate        = 1
	acEnable        = 2
	acPasswordChg   = 3
	acDisable       = 5
	acDelete        = 6
	acAttachPolicy  = 7
	acDetachPolicy  = 8
	acMFAEnable     = 10
	acMFADisable    = 11
	acOther         = 99
	acUpdateByState = -1 // Enable or Disable, from requestParameters.status
)

// accountChangeEvents are the IAM identity changes AWS maps to Account
// Change, with the activity each one reports.
var accountChangeEvents = map[string]int{
	"CreateUser": acCreate, "DeleteUser": acDelete, "UpdateUser": acOther,
	"CreateAccessKey": acCreate, "UpdateAccessKey": acUpdateByState, "DeleteAccessKey": acDelete,
	"ChangePassword": acPasswordChg, "CreateLoginProfile": acCreate, "UpdateLoginProfile": acPasswordChg,
	"DeleteLoginProfile": acDelete,
	"CreateRole":         acCreate, "DeleteRole": acDelete, "UpdateRole": acOther,
	"UpdateRoleDescription": acOther, "UpdateAssumeRolePolicy": acOther,
	"CreateServiceLinkedRole": acCreate, "DeleteServiceLinkedRole": acDelete,
	"AttachUserPolicy": acAttachPolicy, "AttachRolePolicy": acAttachPolicy, "AttachGroupPolicy": acAttachPolicy,
	"DetachUserPolicy": acDetachPolicy, "DetachRolePolicy": acDetachPolicy, "DetachGroupPolicy": acDetachPolicy,
	"PutUserPolicy": acAttachPolicy, "PutRolePolicy": acAttachPolicy, "PutGroupPolicy": acAttachPolicy,
	"DeleteUserPolicy": acDetachPolicy, "DeleteRolePolicy": acDetachPolicy, "DeleteGroupPolicy": acDetachPolicy,
	"PutUserPermissionsBoundary": acAttachPolicy, "PutRolePermissionsBoundary": acAttachPolicy,
	"DeleteUserPermissionsBoundary": acDetachPolicy, "DeleteRolePermissionsBoundary": acDetachPolicy,
	"AddUserToGroup": acAttachPolicy, "RemoveUserFromGroup": acDetachPolicy,
	"DeleteGroup": acDelete, "UpdateGroup": acOther, "DeletePolicy": acDelete,
	"CreateInstanceProfile": acCreate, "DeleteInstanceProfile": acDelete,
	"AddRoleToInstanceProfile": acAttachPolicy, "RemoveRoleFromInstanceProfile": acDetachPolicy,
	"EnableMFADevice": acMFAEnable, "DeactivateMFADevice": acMFADisable, "ResyncMFADevice": acOther,
	"CreateVirtualMFADevice": acCreate, "DeleteVirtualMFADevice": acMFADisable,
	"RequestSmsMfaRegistration": acOther, "FinalizeSmsMfaRegistration": acMFAEnable,
	"CreateAccountAlias": acCreate, "DeleteAccountAlias": acDelete,
	"UpdateAccountEmailAddress": acOther, "EmailUpdated": acOther, "AccountNameUpdated": acOther,
	"PasswordUpdated": acPasswordChg, "UpdateAccountName": acOther,
	"UpdateAccountPasswordPolicy": acOther, "DeleteAccountPasswordPolicy": acDelete,
	"TagUser": acOther, "UntagUser": acOther, "TagRole": acOther, "UntagRole": acOther,
	"TagInstanceProfile": acOther, "UntagInstanceProfile": acOther,
}

// accountChangeAnySource are Account Change events that are not logged by
// iam.amazonaws.com (root e-mail, name and password changes).
var accountChangeAnySource = map[string]bool{
	"EmailUpdated": true, "AccountNameUpdated": true, "PasswordUpdated": true,
	"UpdateAccountName": true, "UpdateAccountEmailAddress": true,
}

var accountChangeNames = map[int]string{
	acCreate: "Create", acEnable: "Enable", acPasswordChg: "Password Change", 4: "Password Reset",
	acDisable: "Disable", acDelete: "Delete", acAttachPolicy: "Attach Policy",
	acDetachPolicy: "Detach Policy", 9: "Lock", acMFAEnable: "MFA Factor Enable",
	acMFADisable: "MFA Factor Disable", acOther: "Other",
}

var authNames = map[int]string{1: "Logon", 2: "Logoff", 99: "Other"}

var apiNames = map[int]string{0: "Unknown", 1: "Create", 2: "Read", 3: "Update", 4: "Delete", 99: "Other"}

// apiVerbs maps the leading verb of eventName to an API Activity id. It is
// the community table of the OCSF examples (see docs/schemas.md) matched on
// the leading word instead of as a substring, so "DescribeRunbook" cannot
// hit "Run", plus a few verbs that table lacks (Head, Query, Scan, Set,
// Replace, Change, Purge, Import, Allocate, Copy).
var apiVerbs = map[string]int{
	"Create": 1, "Run": 1, "Generate": 1, "Allocate": 1, "Import": 1, "Copy": 1,
	"Get": 2, "List": 2, "Describe": 2, "Search": 2, "Lookup": 2, "Head": 2, "Query": 2, "Scan": 2,
	"Update": 3, "Put": 3, "Modify": 3, "Add": 3, "Remove": 3, "Start": 3, "Stop": 3,
	"Attach": 3, "Detach": 3, "Associate": 3, "Disassociate": 3, "Tag": 3, "Untag": 3,
	"Enable": 3, "Disable": 3, "Register": 3, "Deregister": 3, "Set": 3, "Replace": 3, "Change": 3,
	"Delete": 4, "Terminate": 4, "Purge": 4,
}

// leadingVerb returns the first capitalized word of name ("Describe" for
// "DescribeInstances"), skipping a "Batch" prefix so that
// "BatchGetSecretValue" is a Get.
func leadingVerb(name []byte) []byte {
	w := firstWord(name)
	if string(w) == "Batch" {
		if v := firstWord(name[len(w):]); len(v) > 0 {
			return v
		}
	}
	return w
}

func firstWord(s []byte) []byte {
	if len(s) == 0 || s[0] < 'A' || s[0] > 'Z' {
		return nil
	}
	i := 1
	for i < len(s) && s[i] >= 'a' && s[i] <= 'z' {
		i++
	}
	return s[:i]
}

// apiActivity derives the API Activity id from eventName, falling back to
// readOnly for verbs the table does not know.
func apiActivity(name []byte, readOnly bool) int {
	if id, ok := apiVerbs[common.BytesString(leadingVerb(name))]; ok {
		return id
	}
	if readOnly {
		return 2
	}
	return 99
}
