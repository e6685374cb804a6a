package ecs

// eventKind is the event.category and event.type Elastic's CloudTrail
// pipeline sets for an eventName. Names not listed get no category and
// type ["info"].
type eventKind struct {
	category string
	types    []string // nil: no event.type at all
}

var (
	tInfo     = []string{"info"}
	tUserChg  = []string{"user", "change"}
	tGroupChg = []string{"group", "change"}
	tNone     []string
)

var eventKinds = map[string]eventKind{
	"ConsoleLogin": {"authentication", tInfo}, "AssumeRole": {"authentication", tInfo},
	"GetCallerIdentity": {"authentication", tInfo},
	"CreateUser":        {"iam", []string{"user", "creation"}}, "DeleteUser": {"iam", []string{"user", "deletion"}},
	"CreateGroup": {"iam", []string{"group", "creation"}}, "DeleteGroup": {"iam", []string{"group", "deletion"}},
	"AddUserToGroup": {"iam", tGroupChg}, "RemoveUserFromGroup": {"iam", tGroupChg},
	"AttachGroupPolicy": {"iam", tGroupChg}, "DetachGroupPolicy": {"iam", tGroupChg},
	"PutGroupPolicy": {"iam", tGroupChg}, "DeleteGroupPolicy": {"iam", tGroupChg}, "UpdateGroup": {"iam", tGroupChg},
	"AttachUserPolicy": {"iam", tUserChg}, "DetachUserPolicy": {"iam", tUserChg}, "PutUserPolicy": {"iam", tUserChg},
	"DeleteUserPolicy": {"iam", tUserChg}, "ChangePassword": {"iam", tUserChg}, "CreateAccessKey": {"iam", tUserChg},
	"UpdateAccessKey": {"iam", tUserChg}, "DeleteAccessKey": {"iam", tUserChg},
	"CreateVirtualMFADevice": {"iam", tUserChg}, "DeleteVirtualMFADevice": {"iam", tUserChg},
	"EnableMFADevice": {"iam", tUserChg}, "DeactivateMFADevice": {"iam", tUserChg},
	"DeleteSSHPublicKey": {"iam", tUserChg}, "UpdateSSHPublicKey": {"iam", tUserChg},
	"PutUserPermissionsBoundary": {"iam", tUserChg}, "DeleteUserPermissionsBoundary": {"iam", tUserChg},
	"TagUser": {"iam", tUserChg}, "UntagUser": {"iam", tUserChg}, "UpdateLoginProfile": {"iam", tUserChg},
	"UpdateUser": {"iam", tUserChg},
	"GetUser":    {"iam", []string{"user", "info"}}, "GetUserPolicy": {"iam", []string{"user", "info"}},
	"ListAttachedUserPolicies": {"iam", []string{"user", "info"}}, "ListUserPolicies": {"iam", []string{"user", "info"}},
	"ListUsers": {"iam", []string{"user", "info"}}, "ListUserTags": {"iam", []string{"user", "info"}},
	"ListGroupsForUser": {"iam", []string{"user", "info"}},
	"GetGroup":          {"iam", []string{"group", "info"}}, "GetGroupPolicy": {"iam", []string{"group", "info"}},
	"ListAttachedGroupPolicies": {"iam", []string{"group", "info"}}, "ListGroupPolicies": {"iam", []string{"group", "info"}},
	"ListGroups":              {"iam", []string{"group", "info"}},
	"CreateKeyPair":           {"iam", []string{"admin", "creation"}},
	"SetDefaultPolicyVersion": {"iam", []string{"admin", "change"}}, "SetSecurityTokenServicePreferences": {"iam", []string{"admin", "change"}},
	"UpdateAccountPasswordPolicy": {"iam", []string{"admin", "change"}}, "UpdateRole": {"iam", []string{"admin", "change"}},
	"ListRoles": {"iam", tInfo}, "GetPolicy": {"iam", tInfo}, "ListAttachedRolePolicies": {"iam", tInfo},
	"CreatePolicy": {"iam", []string{"creation"}}, "AttachRolePolicy": {"iam", []string{"change"}},
	"CreateBucket": {"file", []string{"creation"}}, "DeleteBucket": {"file", []string{"deletion"}},
	"ListBuckets": {"file", tInfo}, "ListObjects": {"file", tInfo}, "HeadObject": {"file", tInfo}, "GetObject": {"file", tInfo},
	"PutObject": {"file", []string{"change"}}, "DeleteObject": {"file", []string{"delete"}},
	"CreateDocument":    {"file", []string{"creation"}},
	"DescribeInstances": {"host", tInfo}, "DescribeVolumes": {"host", tInfo}, "ListInstanceAssociations": {"host", tInfo},
	"DescribeSecurityGroups": {"network", tInfo}, "DescribeNetworkInterfaces": {"network", tInfo},
	"DescribeVpcs": {"network", tInfo}, "DescribeNetworkAcls": {"network", tInfo}, "DescribeLoadBalancers": {"network", tInfo},
	"AuthorizeSecurityGroupIngress": {"network", []string{"access"}},
	"DescribeTrails":                {"configuration", tInfo}, "DeleteTrail": {"configuration", []string{"deletion"}},
	"CreateTopic": {"configuration", []string{"creation"}}, "Subscribe": {"configuration", []string{"change"}},
	"DescribeRegions": {"api", tInfo}, "Publish": {"api", tNone}, "Converse": {"api", tNone},
	"SendCommand":   {"process", tNone},
	"ListFunctions": {"package", tInfo},
	"ListTables":    {"database", tInfo}, "DescribeDBInstances": {"database", tInfo},
	"StartSession": {"session", []string{"start"}}, "CreateControlChannel": {"session", []string{"start"}},
	"OpenControlChannel": {"session", []string{"start"}}, "CreateDataChannel": {"session", []string{"start"}},
	"OpenDataChannel": {"session", []string{"start"}}, "TerminateSession": {"session", []string{"end"}},
}
