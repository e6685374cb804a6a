package common

import "github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"

// Identity holds the node of each userIdentity member that the encoders
// read, or jsontree.None when it is absent. Both encoders look up a dozen
// of them per event; a jsontree.Get each was a dozen scans of the same
// members, comparing keys, where Index looks at each member once.
type Identity struct {
	Type, ARN, PrincipalID, UserName, AccessKeyID, CredentialID, AccountID,
	InvokedBy, IdentityProvider, SessionContext, OnBehalfOf int32
}

// Index fills id from node ui of t, the event's userIdentity (None when
// the event has none). As with jsontree.Get, the first member of a name
// wins, and nothing is found in a node that is not an object.
func (id *Identity) Index(t *jsontree.Tree, ui int32) {
	const none = jsontree.None
	*id = Identity{none, none, none, none, none, none, none, none, none, none, none}
	if t.Kind(ui) != jsontree.Object {
		return
	}
	for c := t.Nodes[ui].First; c != none; c = t.Nodes[c].Next {
		var p *int32
		switch string(t.Key(c)) {
		case "type":
			p = &id.Type
		case "arn":
			p = &id.ARN
		case "principalId":
			p = &id.PrincipalID
		case "userName":
			p = &id.UserName
		case "accessKeyId":
			p = &id.AccessKeyID
		case "credentialId":
			p = &id.CredentialID
		case "accountId":
			p = &id.AccountID
		case "invokedBy":
			p = &id.InvokedBy
		case "identityProvider":
			p = &id.IdentityProvider
		case "sessionContext":
			p = &id.SessionContext
		case "onBehalfOf":
			p = &id.OnBehalfOf
		default:
			continue
		}
		if *p == none {
			*p = c
		}
	}
}
