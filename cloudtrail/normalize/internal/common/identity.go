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

// identityNames are the member names of Identity's fields, in the order
// of the fields.
var identityNames = [...]string{"type", "arn", "principalId", "userName", "accessKeyId", "credentialId",
	"accountId", "invokedBy", "identityProvider", "sessionContext", "onBehalfOf"}

// identityByLen lists, for each name length, the indexes in identityNames
// of the names of that length (at most two): a member is compared with
// those only.
var identityByLen = func() (l [17][]int) {
	for j, name := range identityNames {
		l[len(name)] = append(l[len(name)], j)
	}
	return l
}()

// Index fills id from node ui of t, the event's userIdentity (None when
// the event has none). As with jsontree.Get, the first member of a name
// wins, and nothing is found in a node that is not an object.
func (id *Identity) Index(t *jsontree.Tree, ui int32) {
	const none = jsontree.None
	*id = Identity{none, none, none, none, none, none, none, none, none, none, none}
	if t.Kind(ui) != jsontree.Object {
		return
	}
	fields := [len(identityNames)]*int32{&id.Type, &id.ARN, &id.PrincipalID, &id.UserName, &id.AccessKeyID,
		&id.CredentialID, &id.AccountID, &id.InvokedBy, &id.IdentityProvider, &id.SessionContext, &id.OnBehalfOf}
	for c := t.Nodes[ui].First; c != none; c = t.Nodes[c].Next {
		k := t.Key(c)
		if len(k) >= len(identityByLen) {
			continue
		}
		for _, j := range identityByLen[len(k)] {
			if string(k) == identityNames[j] {
				if *fields[j] == none {
					*fields[j] = c
				}
				break
			}
		}
	}
}
