// Package ecs encodes CloudTrail events as the Elastic Common Schema
// documents that Elastic's AWS integration (cloudtrail data stream) stores,
// without the enrichments that need Elasticsearch (GeoIP, user-agent
// parsing). docs/schemas.md lists every deliberate difference from
// Elastic's pipeline.
package ecs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/common"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/mpw"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// Version is the ECS version the documents follow (ecs.version), the one
// Elastic's current CloudTrail pipeline writes.
const Version = "8.11.0"

// maxText is the length from which Elastic does not keep the flattened
// copy of a request/response body (Lucene's term limit).
const maxText = 32766

// ErrNotObject is returned for an event whose JSON is not an object.
var ErrNotObject = errors.New("ecs: event is not a JSON object")

// New returns an ECS Encoder.
func New() record.Encoder { return &encoder{} }

type encoder struct {
	t     jsontree.Tree
	w     mpw.Writer
	tmp   []byte
	order []int32
	rel   [][]byte // related.user candidates
	// gone is, per node, whether Elastic's cleanup removes it (markGone).
	gone []bool
	// buckets is hashOrder's scratch: the HashMap bucket of each member.
	buckets []uint32
	f       fields
	// id is the userIdentity members the mapping reads.
	id common.Identity
}

type fields struct {
	eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion,
	sourceIP, userAgent, requestParameters, responseElements, additionalEventData,
	requestID, eventID, eventType, apiVersion, recipientAccountID, eventCategory,
	vpcEndpointID, errorCode, errorMessage, resources, insightDetails, readOnly,
	managementEvent, sharedEventID, serviceEventDetails, tlsDetails,
	sessionCredentialFromConsole int32
}

// nonEmpty returns the text of string node i unless it is absent or "":
// Elastic removes empty strings before mapping.
func (e *encoder) nonEmpty(i int32) ([]byte, bool) {
	s, ok := e.t.Str(i)
	return s, ok && len(s) > 0
}

// Append implements record.Encoder.
func (e *encoder) Append(dst []byte, event []byte, src *record.Source) ([]byte, error) {
	if err := e.t.Parse(event); err != nil {
		return dst, fmt.Errorf("ecs: parse event: %w", err)
	}
	return e.encode(dst, src)
}

// AppendObjectPrefix is Append for an event at the start of buf, which may
// go on with more input (the decoder's window): it saves the decoder a pass
// to find the event's end (common.AppendObjectPrefix).
func (e *encoder) AppendObjectPrefix(dst, buf []byte, maxDepth int, src *record.Source) ([]byte, int, error) {
	return common.AppendObjectPrefix(&e.t, dst, buf, maxDepth, src, e.encode)
}

// encode appends the entry of the event in e.t.
func (e *encoder) encode(dst []byte, src *record.Source) ([]byte, error) {
	if e.t.Nodes[0].Kind != jsontree.Object {
		return dst, ErrNotObject
	}
	e.index()
	e.id.Index(&e.t, e.f.userIdentity)
	e.markGone()
	et, _ := e.t.Str(e.f.eventTime)
	ts, timeOK := common.EventTime(et, e.f.eventTime >= 0, src)
	e.w.Reset(common.BeginEntry(dst, ts))
	e.w.OpenMapElem()
	e.body(ts, src)
	id, _ := e.t.Str(e.f.eventID)
	common.WriteSource(&e.w, src, id, !timeOK)
	e.w.CloseKeep()
	return e.w.B, nil
}

func (e *encoder) index() {
	f := &e.f
	*f = fields{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}
	t := &e.t
	for c := t.Nodes[0].First; c != jsontree.None; c = t.Nodes[c].Next {
		var q *int32
		switch string(t.Key(c)) {
		case "eventVersion":
			q = &f.eventVersion
		case "userIdentity":
			q = &f.userIdentity
		case "eventTime":
			q = &f.eventTime
		case "eventSource":
			q = &f.eventSource
		case "eventName":
			q = &f.eventName
		case "awsRegion":
			q = &f.awsRegion
		case "sourceIPAddress":
			q = &f.sourceIP
		case "userAgent":
			q = &f.userAgent
		case "requestParameters":
			q = &f.requestParameters
		case "responseElements":
			q = &f.responseElements
		case "additionalEventData":
			q = &f.additionalEventData
		case "requestID":
			q = &f.requestID
		case "eventID":
			q = &f.eventID
		case "eventType":
			q = &f.eventType
		case "apiVersion":
			q = &f.apiVersion
		case "recipientAccountId":
			q = &f.recipientAccountID
		case "eventCategory":
			q = &f.eventCategory
		case "vpcEndpointId":
			q = &f.vpcEndpointID
		case "errorCode":
			q = &f.errorCode
		case "errorMessage":
			q = &f.errorMessage
		case "resources":
			q = &f.resources
		case "insightDetails":
			q = &f.insightDetails
		case "readOnly":
			q = &f.readOnly
		case "managementEvent":
			q = &f.managementEvent
		case "sharedEventID":
			q = &f.sharedEventID
		case "serviceEventDetails":
			q = &f.serviceEventDetails
		case "tlsDetails":
			q = &f.tlsDetails
		case "sessionCredentialFromConsole":
			q = &f.sessionCredentialFromConsole
		default:
			continue
		}
		if *q == jsontree.None {
			*q = c
		}
	}
}

func (e *encoder) body(ts time.Time, src *record.Source) {
	t, w, f := &e.t, &e.w, &e.f
	name, _ := e.nonEmpty(f.eventName)
	uiType, _ := e.nonEmpty(e.id.Type)

	e.tmp = common.AppendMillisUTC(e.tmp[:0], ts)
	w.Str("@timestamp", e.tmp)
	w.OpenMap("ecs")
	w.StrS("version", Version)
	w.Close()

	// event.*
	w.OpenMap("event")
	w.StrS("kind", "event")
	if name != nil {
		w.Str("action", name)
	}
	if s, ok := e.nonEmpty(f.eventSource); ok {
		w.Str("provider", s)
	}
	if s, ok := e.nonEmpty(f.eventID); ok {
		w.Str("id", s)
	}
	outcome := "success"
	if _, ok := e.nonEmpty(f.errorCode); ok {
		outcome = "failure"
	} else if _, ok := e.nonEmpty(f.errorMessage); ok {
		outcome = "failure"
	}
	if string(name) == "ConsoleLogin" {
		if r, ok := e.nonEmpty(t.Get(f.responseElements, "ConsoleLogin")); ok {
			e.tmp = toLower(append(e.tmp[:0], r...))
			w.Str("outcome", e.tmp)
			outcome = ""
		}
	}
	if outcome != "" {
		w.StrS("outcome", outcome)
	}
	kind, ok := eventKinds[common.BytesString(name)]
	if !ok {
		kind.types = tInfo
	}
	if kind.category != "" {
		w.OpenArray("category")
		w.ElemStrS(kind.category)
		w.Close()
	}
	if len(kind.types) > 0 {
		w.OpenArray("type")
		for _, s := range kind.types {
			w.ElemStrS(s)
		}
		w.Close()
	}
	if src != nil && !src.Received.IsZero() {
		// Elastic's event.created is when the pipeline saw the event; the
		// closest moment here is when the object was fetched.
		e.tmp = common.AppendMillisUTC(e.tmp[:0], src.Received)
		w.Str("created", e.tmp)
	}
	w.Close()

	// cloud.*
	w.OpenMap("cloud")
	w.StrS("provider", "aws")
	if s, ok := e.nonEmpty(f.awsRegion); ok {
		w.Str("region", s)
	}
	if s, ok := e.nonEmpty(e.id.AccountID); ok {
		w.OpenMap("account")
		w.Str("id", s)
		w.Close()
	} else if s, ok := e.nonEmpty(f.recipientAccountID); ok {
		w.OpenMap("account")
		w.Str("id", s)
		w.Close()
	}
	if s, ok := e.nonEmpty(f.eventSource); ok {
		if svc, ok := bytes.CutSuffix(s, []byte(".amazonaws.com")); ok {
			w.OpenMap("service")
			w.Str("name", svc)
			w.Close()
		}
	}
	w.Close()

	// source.*
	srcIP := []byte(nil)
	if s, ok := e.nonEmpty(f.sourceIP); ok {
		w.OpenMap("source")
		w.Str("address", s)
		if common.IsIP(s) {
			w.Str("ip", s)
			srcIP = s
		}
		w.Close()
	}
	if s, ok := e.nonEmpty(f.userAgent); ok {
		w.OpenMap("user_agent")
		w.Str("original", s)
		w.Close()
	}

	e.user(name, uiType)
	e.group()

	// related.*
	w.OpenMap("related")
	if len(e.rel) > 0 {
		w.OpenArray("user")
		for k, s := range e.rel {
			dup := false
			for _, p := range e.rel[:k] {
				if bytes.Equal(p, s) {
					dup = true
					break
				}
			}
			if !dup {
				w.ElemStr(s)
			}
		}
		w.Close()
	}
	if srcIP != nil {
		w.OpenArray("ip")
		w.ElemStr(srcIP)
		w.Close()
	}
	w.Close()

	e.tls()
	e.aws(name, uiType)
}

// user writes user.* and collects related.user.
func (e *encoder) user(name, uiType []byte) {
	t, w, f := &e.t, &e.w, &e.f
	rq, rs := f.requestParameters, f.responseElements
	e.rel = e.rel[:0]
	w.OpenMap("user")
	id, okID := e.nonEmpty(e.id.PrincipalID)
	if !okID && string(uiType) == "IdentityCenterUser" {
		id, okID = e.nonEmpty(t.Path(e.id.OnBehalfOf, "userId"))
	}
	uname, okName := e.nonEmpty(e.id.UserName)
	if string(uiType) == "AssumedRole" || string(uiType) == "FederatedUser" {
		// For roles Elastic names the user after the role, not the session.
		if s, ok := e.nonEmpty(t.Path(e.id.SessionContext, "sessionIssuer", "userName")); ok {
			uname, okName = s, true
		}
	}
	if !okName && string(name) == "UserAuthentication" {
		uname, okName = e.nonEmpty(t.Get(f.additionalEventData, "UserName"))
	}
	var session []byte
	if arn, ok := e.nonEmpty(e.id.ARN); ok {
		session = sessionName(arn)
	}
	if len(session) > 0 {
		e.rel = append(e.rel, session)
	}
	if okID {
		w.Str("id", id)
		e.rel = append(e.rel, id)
	}
	if okName {
		w.Str("name", uname)
		e.rel = append(e.rel, uname)
		if bytes.IndexByte(uname, '@') >= 0 {
			w.Str("email", uname)
		}
	}
	w.OpenMap("target")
	if s, ok := e.nonEmpty(t.Path(rs, "user", "userId")); ok {
		w.Str("id", s)
		e.rel = append(e.rel, s)
	}
	if s, ok := e.nonEmpty(t.Get(rq, "userName")); ok {
		w.Str("name", s)
		e.rel = append(e.rel, s)
	}
	w.Close()
	w.OpenMap("changes")
	if s, ok := e.nonEmpty(t.Get(rq, "newUserName")); ok {
		w.Str("name", s)
		e.rel = append(e.rel, s)
	} else if len(session) > 0 {
		w.Str("name", session)
	}
	w.Close()
	w.Close()
}

// sessionName returns the session part of an assumed-role or
// federated-user ARN.
func sessionName(arn []byte) []byte {
	for _, marker := range []string{":assumed-role/", ":federated-user/"} {
		if i := bytes.Index(arn, []byte(marker)); i >= 0 {
			rest := arn[i+len(marker):]
			if marker == ":assumed-role/" {
				j := bytes.IndexByte(rest, '/')
				if j < 0 {
					return nil
				}
				rest = rest[j+1:]
			}
			return rest
		}
	}
	return nil
}

func (e *encoder) group() {
	t, w, f := &e.t, &e.w, &e.f
	w.OpenMap("group")
	if s, ok := e.nonEmpty(t.Path(f.responseElements, "group", "groupId")); ok {
		w.Str("id", s)
	}
	if s, ok := e.nonEmpty(t.Get(f.requestParameters, "groupName")); ok {
		w.Str("name", s)
	}
	w.Close()
}

func (e *encoder) tls() {
	t, w, f := &e.t, &e.w, &e.f
	td := f.tlsDetails
	w.OpenMap("tls")
	if v, ok := e.nonEmpty(t.Get(td, "tlsVersion")); ok {
		// "TLSv1.2" → version_protocol "tls", version "1.2".
		if i := bytes.IndexByte(v, 'v'); i > 0 {
			e.tmp = toLower(append(e.tmp[:0], v[:i]...))
			w.Str("version_protocol", e.tmp)
			w.Str("version", v[i+1:])
		}
	}
	if s, ok := e.nonEmpty(t.Get(td, "cipherSuite")); ok {
		w.Str("cipher", s)
	}
	if s, ok := e.nonEmpty(t.Get(td, "clientProvidedHostHeader")); ok {
		w.OpenMap("client")
		w.Str("server_name", s)
		w.Close()
	}
	w.Close()
}

func (e *encoder) aws(name, uiType []byte) {
	t, w, f := &e.t, &e.w, &e.f
	w.OpenMap("aws")
	w.OpenMap("cloudtrail")
	str := func(k string, i int32) {
		if s, ok := e.nonEmpty(i); ok {
			w.Str(k, s)
		}
	}
	str("event_version", f.eventVersion)
	str("event_type", f.eventType)
	str("event_category", f.eventCategory)
	str("recipient_account_id", f.recipientAccountID)
	str("request_id", f.requestID)
	str("api_version", f.apiVersion)
	str("error_code", f.errorCode)
	str("error_message", f.errorMessage)
	str("shared_event_id", f.sharedEventID)
	str("vpc_endpoint_id", f.vpcEndpointID)
	// Elastic keeps managementEvent as the keyword "true"/"false".
	switch t.Kind(f.managementEvent) {
	case jsontree.True, jsontree.False:
		w.Str("management_event", t.Raw(f.managementEvent))
	case jsontree.String:
		str("management_event", f.managementEvent)
	}
	switch t.Kind(f.readOnly) {
	case jsontree.True, jsontree.False:
		w.Bool("read_only", t.Kind(f.readOnly) == jsontree.True)
	case jsontree.String:
		if s, _ := t.Str(f.readOnly); string(s) == "true" || string(s) == "false" {
			w.Bool("read_only", string(s) == "true")
		}
	}
	switch t.Kind(f.sessionCredentialFromConsole) {
	case jsontree.True, jsontree.False:
		w.Str("session_credential_from_console", t.Raw(f.sessionCredentialFromConsole))
	case jsontree.String:
		str("session_credential_from_console", f.sessionCredentialFromConsole)
	}

	// user_identity.*
	w.OpenMap("user_identity")
	str("type", e.id.Type)
	str("arn", e.id.ARN)
	str("access_key_id", e.id.AccessKeyID)
	str("invoked_by", e.id.InvokedBy)
	sc := e.id.SessionContext
	w.OpenMap("session_context")
	str("mfa_authenticated", t.Path(sc, "attributes", "mfaAuthenticated"))
	if s, ok := e.nonEmpty(t.Path(sc, "attributes", "creationDate")); ok {
		if ct, ok := common.ParseTime(s); ok {
			e.tmp = common.AppendMillisUTC(e.tmp[:0], ct)
			w.Str("creation_date", e.tmp)
		}
	}
	si := t.Get(sc, "sessionIssuer")
	w.OpenMap("session_issuer")
	str("type", t.Get(si, "type"))
	str("principal_id", t.Get(si, "principalId"))
	str("arn", t.Get(si, "arn"))
	str("account_id", t.Get(si, "accountId"))
	w.Close()
	w.Close()
	w.Close()

	// ConsoleLogin details as typed fields.
	if string(name) == "ConsoleLogin" && t.Kind(f.additionalEventData) == jsontree.Object {
		ad := f.additionalEventData
		w.OpenMap("console_login")
		w.OpenMap("additional_eventdata")
		if s, ok := e.nonEmpty(t.Get(ad, "MobileVersion")); ok {
			if b, ok := yesNo(s); ok {
				w.Bool("mobile_version", b)
			}
		}
		str("login_to", t.Get(ad, "LoginTo"))
		if s, ok := e.nonEmpty(t.Get(ad, "MFAUsed")); ok {
			if b, ok := yesNo(s); ok {
				w.Bool("mfa_used", b)
			}
		}
		w.Close()
		w.Close()
	}

	// resources[], de-duplicated like Elastic does.
	if t.Kind(f.resources) == jsontree.Array && t.Nodes[f.resources].N > 0 {
		w.OpenArray("resources")
		for c := t.Nodes[f.resources].First; c != jsontree.None; c = t.Nodes[c].Next {
			if t.Nodes[c].Kind != jsontree.Object || e.dupResource(c) {
				continue
			}
			w.OpenMapElem()
			str("arn", t.Get(c, "ARN"))
			str("account_id", t.Get(c, "accountId"))
			str("type", t.Get(c, "type"))
			w.Close()
		}
		w.Close()
	}

	// Bodies: Java text plus flattened object.
	skipUser := ""
	if string(name) == "UserAuthentication" && e.id.UserName < 0 {
		skipUser = "UserName" // moved to user.name
	}
	type body struct {
		key  string
		i    int32
		skip string
	}
	bodies := [4]body{
		{"request_parameters", f.requestParameters, ""},
		{"response_elements", f.responseElements, ""},
		{"additional_eventdata", f.additionalEventData, skipUser},
		{"service_event_details", f.serviceEventDetails, ""},
	}
	flat := [5]bool{}
	for k, b := range bodies {
		if b.i < 0 || e.gone[b.i] {
			continue
		}
		e.tmp = e.appendJavaString(e.tmp[:0], b.i, b.skip)
		if len(e.tmp) > 0 && !(len(e.tmp) == 2 && e.tmp[0] == '{') {
			w.Str(b.key, e.tmp)
		}
		flat[k] = len(e.tmp) < maxText
	}
	w.OpenMap("flattened")
	for k, b := range bodies {
		if flat[k] && t.Kind(b.i) == jsontree.Object {
			w.Key(b.key)
			e.writeClean(w, nil, b.i, b.skip)
		}
	}
	if t.Kind(f.insightDetails) == jsontree.Object && !e.gone[f.insightDetails] {
		w.Key("insight_details")
		e.writeClean(w, nil, f.insightDetails, "")
	}
	w.Close()

	w.Close()
	w.Close()
}

// dupResource reports whether an earlier resources element has the same
// ARN, account and type as element c.
func (e *encoder) dupResource(c int32) bool {
	t := &e.t
	for p := t.Nodes[e.f.resources].First; p != c; p = t.Nodes[p].Next {
		same := true
		for _, k := range []string{"ARN", "accountId", "type"} {
			a, _ := t.Str(t.Get(p, k))
			b, _ := t.Str(t.Get(c, k))
			if !bytes.Equal(a, b) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

// toLower is bytes.ToLower for a buffer the caller owns: ASCII text, which
// is all CloudTrail puts in the fields it is used for, is lowered in place,
// because bytes.ToLower returns a new slice even when nothing changes and
// that was an allocation per event.
func toLower(b []byte) []byte {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return bytes.ToLower(b)
		}
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

func yesNo(s []byte) (bool, bool) {
	switch string(s) {
	case "Yes", "yes", "true":
		return true, true
	case "No", "no", "false":
		return false, true
	}
	return false, false
}
