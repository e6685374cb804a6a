package ocsf

import (
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/common"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
)

// OCSF 1.1 observable type ids used here.
const (
	obsHostname    = 1
	obsIPAddress   = 2
	obsUserName    = 4
	obsResourceUID = 10
)

// observables lists the host names, IP addresses, user names and resource
// ARNs of the record, as AWS's mapping does.
func (e *encoder) observables() {
	t, w, f := &e.t, &e.w, &e.f
	w.OpenArray("observables")
	if e.obsIP != nil {
		e.observable("src_endpoint.ip", "IP Address", obsIPAddress, e.obsIP)
	}
	if e.obsDomain != nil && common.IsHostname(e.obsDomain) {
		e.observable("src_endpoint.domain", "Hostname", obsHostname, e.obsDomain)
	}
	if len(e.obsActorName) > 0 {
		e.observable("actor.user.name", "User Name", obsUserName, e.obsActorName)
	}
	if len(e.obsUserName) > 0 {
		e.observable("user.name", "User Name", obsUserName, e.obsUserName)
	}
	if e.used[max(f.resources, 0)] && f.resources >= 0 {
		for c := t.Nodes[f.resources].First; c != jsontree.None; c = t.Nodes[c].Next {
			s, ok := t.Str(t.Get(c, "ARN"))
			if !ok {
				s, ok = t.Str(t.Get(c, "ARNPrefix"))
			}
			if ok && len(s) > 0 {
				e.observable("resources.uid", "Resource UID", obsResourceUID, s)
			}
		}
	}
	w.Close()
}

func (e *encoder) observable(name, typ string, typeID int64, value []byte) {
	w := &e.w
	w.OpenMapElem()
	w.StrS("name", name)
	w.StrS("type", typ)
	w.Int("type_id", typeID)
	w.Str("value", value)
	w.CloseKeep()
}

// unmapped writes every CloudTrail field that no attribute took, keyed by
// its dotted path, with string values: the shape of Security Lake's
// map<string,string> column. Objects are flattened; an array is kept whole
// as its JSON text, because joining elements (what the rc.2 samples do)
// loses element boundaries and the pairing of fields of one element.
func (e *encoder) unmapped() {
	w := &e.w
	w.OpenMap("unmapped")
	e.key = e.flatten(e.key[:0], 0)
	w.Close()
}

// flatten writes node i, whose dotted path is key, and returns key's
// buffer. The path is built in a local slice rather than in e.key: growing
// a slice held in the heap stores its pointer, which costs a write barrier
// while the garbage collector runs.
func (e *encoder) flatten(key []byte, i int32) []byte {
	t := &e.t
	n := &t.Nodes[i]
	if e.used[i] {
		return key
	}
	switch n.Kind {
	case jsontree.Object:
		base := len(key)
		for c := n.First; c != jsontree.None; c = t.Nodes[c].Next {
			if base > 0 {
				key = append(key, '.')
			}
			key = append(key, t.Key(c)...)
			key = e.flatten(key, c)
			key = key[:base]
		}
	case jsontree.Array:
		e.tmp = t.AppendCompact(e.tmp[:0], i)
		e.w.StrB(key, e.tmp)
	case jsontree.String:
		e.w.StrB(key, t.Raw(i))
	case jsontree.Number, jsontree.True, jsontree.False:
		e.w.StrB(key, t.Raw(i))
	}
	return key
}
