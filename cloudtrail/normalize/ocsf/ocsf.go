// Package ocsf encodes CloudTrail events as OCSF 1.1.0 (or 1.5.0) records
// the way Amazon Security Lake source version 2 maps CloudTrail: API
// Activity 6003, Authentication 3002 and Account Change 3001, with every
// CloudTrail field that has no OCSF attribute kept in "unmapped" under its
// dotted path. docs/schemas.md describes the output and every deliberate
// difference from AWS's own mapping.
package ocsf

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/common"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/internal/mpw"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize/jsontree"
	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/record"
)

// Supported values of Options.Version and Options.Classes.
const (
	Version110 = "1.1.0"
	Version150 = "1.5.0"

	ClassesDefault     = "default"
	ClassesAPIActivity = "api_activity"
)

// Options selects the OCSF variant.
type Options struct {
	// Version is the OCSF schema version written to metadata.version:
	// "1.1.0" (the default when empty, what Security Lake stores) or
	// "1.5.0" (adds cloud.account.uid and actor.app_name).
	Version string
	// Classes is "default" (the default when empty: Authentication and
	// Account Change events get their own class, as AWS does) or
	// "api_activity" (every event is API Activity 6003).
	Classes string
}

// ErrNotObject is returned for an event whose JSON is not an object.
var ErrNotObject = errors.New("ocsf: event is not a JSON object")

// New returns an Encoder for opts, or an error naming an unknown option
// value.
func New(opts Options) (record.Encoder, error) {
	e := &encoder{}
	switch opts.Version {
	case "", Version110:
		e.version = Version110
	case Version150:
		e.version = Version150
		e.v15 = true
	default:
		return nil, fmt.Errorf("ocsf: unknown ocsf_version %q (want %q or %q)", opts.Version, Version110, Version150)
	}
	switch opts.Classes {
	case "", ClassesDefault:
	case ClassesAPIActivity:
		e.apiOnly = true
	default:
		return nil, fmt.Errorf("ocsf: unknown ocsf_classes %q (want %q or %q)", opts.Classes, ClassesDefault, ClassesAPIActivity)
	}
	return e, nil
}

type encoder struct {
	version string
	v15     bool
	apiOnly bool

	t    jsontree.Tree
	w    mpw.Writer
	used []bool // per node: mapped to an OCSF attribute, so not unmapped
	key  []byte // dotted path being built for unmapped
	tmp  []byte // compact JSON text, time text
	f    fields
	// id is the userIdentity members the mapping reads.
	id common.Identity

	// Values written above that observables repeat.
	obsIP, obsDomain, obsActorName, obsUserName []byte
}

// fields holds the node index of every CloudTrail field the mapping reads
// (jsontree.None when absent).
type fields struct {
	eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion,
	sourceIP, userAgent, requestParameters, responseElements, additionalEventData,
	requestID, eventID, eventType, apiVersion, recipientAccountID, eventCategory,
	vpcEndpointID, errorCode, errorMessage, resources, insightDetails, readOnly int32
}

func (e *encoder) use(i int32) {
	if i >= 0 {
		e.used[i] = true
	}
}

// str returns the text of a string node, marking it mapped.
func (e *encoder) str(i int32) ([]byte, bool) {
	s, ok := e.t.Str(i)
	if ok {
		e.used[i] = true
	}
	return s, ok
}

// Append implements record.Encoder.
func (e *encoder) Append(dst []byte, event []byte, src *record.Source) ([]byte, error) {
	if err := e.t.Parse(event); err != nil {
		return dst, fmt.Errorf("ocsf: parse event: %w", err)
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
	if cap(e.used) < len(e.t.Nodes) {
		e.used = make([]bool, len(e.t.Nodes), 2*len(e.t.Nodes))
	} else {
		e.used = e.used[:len(e.t.Nodes)]
		clear(e.used)
	}
	e.index()
	e.id.Index(&e.t, e.f.userIdentity)
	e.used[0] = false

	et, _ := e.t.Str(e.f.eventTime)
	ts, timeOK := common.EventTime(et, e.f.eventTime >= 0, src)
	if timeOK {
		e.use(e.f.eventTime)
	}
	e.w.Reset(common.BeginEntry(dst, ts))
	e.w.OpenMapElem()
	e.body(ts)
	id, _ := e.t.Str(e.f.eventID)
	common.WriteSource(&e.w, src, id, !timeOK)
	e.w.CloseKeep()
	return e.w.B, nil
}

func (e *encoder) index() {
	f := &e.f
	*f = fields{-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}
	t := &e.t
	for c := t.Nodes[0].First; c != jsontree.None; c = t.Nodes[c].Next {
		var p *int32
		switch string(t.Key(c)) {
		case "eventVersion":
			p = &f.eventVersion
		case "userIdentity":
			p = &f.userIdentity
		case "eventTime":
			p = &f.eventTime
		case "eventSource":
			p = &f.eventSource
		case "eventName":
			p = &f.eventName
		case "awsRegion":
			p = &f.awsRegion
		case "sourceIPAddress":
			p = &f.sourceIP
		case "userAgent":
			p = &f.userAgent
		case "requestParameters":
			p = &f.requestParameters
		case "responseElements":
			p = &f.responseElements
		case "additionalEventData":
			p = &f.additionalEventData
		case "requestID":
			p = &f.requestID
		case "eventID":
			p = &f.eventID
		case "eventType":
			p = &f.eventType
		case "apiVersion":
			p = &f.apiVersion
		case "recipientAccountId":
			p = &f.recipientAccountID
		case "eventCategory":
			p = &f.eventCategory
		case "vpcEndpointId":
			p = &f.vpcEndpointID
		case "errorCode":
			p = &f.errorCode
		case "errorMessage":
			p = &f.errorMessage
		case "resources":
			p = &f.resources
		case "insightDetails":
			p = &f.insightDetails
		case "readOnly":
			p = &f.readOnly
		default:
			continue
		}
		if *p == jsontree.None { // first occurrence wins
			*p = c
		}
	}
}

// status values.
const (
	statusSuccess = 1
	statusFailure = 2
	statusOther   = 99
)

func (e *encoder) body(ts time.Time) {
	t, w, f := &e.t, &e.w, &e.f
	name, _ := t.Str(f.eventName)
	source, _ := t.Str(f.eventSource)
	insight := false
	if et, ok := t.Str(f.eventType); ok && string(et) == "AwsCloudTrailInsight" {
		insight = true
	}
	if insight && f.eventName < 0 {
		// Insights events carry the API they describe inside insightDetails.
		name, _ = t.Str(t.Get(f.insightDetails, "eventName"))
		source, _ = t.Str(t.Get(f.insightDetails, "eventSource"))
	}

	// Class and activity.
	class, activity := classAPIActivity, 0
	if !e.apiOnly && !insight {
		if id, ok := authEvents[common.BytesString(name)]; ok && authSources[common.BytesString(source)] {
			class, activity = classAuthentication, id
		} else if id, ok := accountChangeEvents[common.BytesString(name)]; ok &&
			(string(source) == "iam.amazonaws.com" || accountChangeAnySource[common.BytesString(name)]) {
			class, activity = classAccountChange, id
			if id == acUpdateByState {
				activity = acOther
				st, _ := t.Str(t.Get(f.requestParameters, "status"))
				switch string(st) {
				case "Active":
					activity = acEnable
				case "Inactive":
					activity = acDisable
				}
			}
		}
	}
	var className, categoryName, activityName string
	categoryUID := 3
	switch class {
	case classAuthentication:
		className, categoryName, activityName = "Authentication", "Identity & Access Management", authNames[activity]
	case classAccountChange:
		className, categoryName, activityName = "Account Change", "Identity & Access Management", accountChangeNames[activity]
	default:
		categoryUID = 6
		className, categoryName = "API Activity", "Application Activity"
		if insight {
			activity = 99
		} else {
			activity = apiActivity(name, t.Kind(f.readOnly) == jsontree.True)
		}
		activityName = apiNames[activity]
	}

	// Status.
	status := statusSuccess
	if !t.IsNullish(f.errorCode) || !t.IsNullish(f.errorMessage) {
		status = statusFailure
	}
	if string(name) == "ConsoleLogin" || class == classAuthentication {
		// Sign-in events report their result in responseElements.<eventName>.
		if r, ok := t.Str(t.Get(f.responseElements, common.BytesString(name))); ok {
			switch string(r) {
			case "Success":
				if t.IsNullish(f.errorCode) {
					status = statusSuccess
				}
			case "Failure":
				status = statusFailure
			}
		}
	}

	w.Int("activity_id", int64(activity))
	w.StrS("activity_name", activityName)
	w.Int("category_uid", int64(categoryUID))
	w.StrS("category_name", categoryName)
	w.Int("class_uid", int64(class))
	w.StrS("class_name", className)
	w.Int("type_uid", int64(class*100+activity))
	e.tmp = append(append(append(e.tmp[:0], className...), ": "...), activityName...)
	w.Str("type_name", e.tmp)
	w.Int("severity_id", 1)
	w.StrS("severity", "Informational")
	w.Int("status_id", int64(status))
	switch status {
	case statusSuccess:
		w.StrS("status", "Success")
	case statusFailure:
		w.StrS("status", "Failure")
	default:
		w.StrS("status", "Other")
	}
	// time is required in OCSF: without a usable eventTime it is the record
	// time (the fetch time), flagged in _cloudtrail.event_time_invalid, and
	// the original text stays in unmapped.eventTime.
	w.Int("time", ts.UnixMilli())
	e.tmp = common.AppendMillisUTC(e.tmp[:0], ts)
	w.Str("time_dt", e.tmp)

	e.obsIP, e.obsDomain, e.obsActorName, e.obsUserName = nil, nil, nil, nil
	e.metadata()
	e.cloud()
	e.api(insight)
	e.actor()
	e.srcEndpoint()
	if ua, ok := e.str(f.userAgent); ok {
		w.OpenMap("http_request")
		w.Str("user_agent", ua)
		w.Close()
	}
	e.resources()
	switch class {
	case classAuthentication:
		e.authentication(name)
	case classAccountChange:
		e.accountChange()
	}
	e.observables()
	e.unmapped()
}

func (e *encoder) metadata() {
	t, w, f := &e.t, &e.w, &e.f
	w.OpenMap("metadata")
	w.StrS("version", e.version)
	w.OpenArray("profiles")
	w.ElemStrS("cloud")
	w.ElemStrS("datetime")
	w.Close()
	if s, ok := e.str(f.eventID); ok {
		w.Str("uid", s)
	}
	if s, ok := e.str(f.eventType); ok {
		w.Str("event_code", s)
	}
	w.OpenMap("product")
	w.StrS("name", "CloudTrail")
	w.StrS("vendor_name", "AWS")
	if s, ok := e.str(f.eventVersion); ok {
		w.Str("version", s)
	}
	w.OpenMap("feature")
	if s, ok := e.str(f.eventCategory); ok {
		w.Str("name", s)
	} else if t.IsNullish(f.eventCategory) {
		// What AWS writes for records that predate eventCategory.
		w.StrS("name", "Management, Data, and Insights")
	}
	w.Close()
	w.Close()
	w.Close()
}

func (e *encoder) cloud() {
	w, f := &e.w, &e.f
	w.OpenMap("cloud")
	w.StrS("provider", "AWS")
	if s, ok := e.str(f.awsRegion); ok {
		w.Str("region", s)
	}
	if e.v15 {
		if s, ok := e.str(f.recipientAccountID); ok {
			w.OpenMap("account")
			w.Str("uid", s)
			w.Close()
		}
	}
	w.Close()
}

// jsonText writes key k with the compact JSON text of node i, which is how
// AWS carries json_t attributes such as api.request.data.
func (e *encoder) jsonText(k string, i int32) {
	if e.t.IsNullish(i) {
		return
	}
	e.use(i)
	e.markSubtree(i)
	e.tmp = e.t.AppendCompact(e.tmp[:0], i)
	e.w.Str(k, e.tmp)
}

func (e *encoder) markSubtree(i int32) {
	e.used[i] = true
	for c := e.t.Nodes[i].First; c != jsontree.None; c = e.t.Nodes[c].Next {
		e.markSubtree(c)
	}
}

func (e *encoder) api(insight bool) {
	t, w, f := &e.t, &e.w, &e.f
	w.OpenMap("api")
	op, sv := f.eventName, f.eventSource
	if insight && op < 0 {
		op, sv = t.Get(f.insightDetails, "eventName"), t.Get(f.insightDetails, "eventSource")
	}
	if s, ok := e.str(op); ok {
		w.Str("operation", s)
	}
	if s, ok := e.str(sv); ok {
		w.OpenMap("service")
		w.Str("name", s)
		w.Close()
	}
	if s, ok := e.str(f.apiVersion); ok {
		w.Str("version", s)
	}
	w.OpenMap("request")
	if s, ok := e.str(f.requestID); ok {
		w.Str("uid", s)
	}
	e.jsonText("data", f.requestParameters)
	w.Close()
	w.OpenMap("response")
	if s, ok := e.str(f.errorCode); ok {
		w.Str("error", s)
	}
	if s, ok := e.str(f.errorMessage); ok {
		w.Str("message", s)
	}
	e.jsonText("data", f.responseElements)
	w.Close()
	w.Close()
}

func (e *encoder) actor() {
	t, w, f := &e.t, &e.w, &e.f
	ui := f.userIdentity
	if t.Kind(ui) != jsontree.Object {
		return
	}
	sc := e.id.SessionContext
	w.OpenMap("actor")

	w.OpenMap("user")
	if s, ok := e.str(e.id.Type); ok {
		w.Str("type", s)
	}
	if s, ok := e.str(e.id.ARN); ok {
		w.Str("uid", s)
	}
	pid, okPid := e.str(e.id.PrincipalID)
	if okPid && len(pid) > 0 {
		w.Str("uid_alt", pid)
	} else if s, ok := e.str(t.Path(e.id.OnBehalfOf, "userId")); ok {
		// IAM Identity Center users have no principalId of their own.
		w.Str("uid_alt", s)
	} else if okPid {
		w.Str("uid_alt", pid)
	}
	e.obsActorName = nil
	if s, ok := e.str(e.id.UserName); ok {
		w.Str("name", s)
		e.obsActorName = s
	} else if s, ok := e.str(t.Get(f.additionalEventData, "UserName")); ok {
		w.Str("name", s)
		e.obsActorName = s
	}
	if s, ok := e.str(e.id.AccessKeyID); ok && len(s) > 0 {
		w.Str("credential_uid", s)
	} else if s2, ok2 := e.str(e.id.CredentialID); ok2 {
		w.Str("credential_uid", s2)
	} else if ok {
		w.Str("credential_uid", s)
	}
	if s, ok := e.str(e.id.AccountID); ok {
		w.OpenMap("account")
		w.Str("uid", s)
		w.Close()
	}
	w.Close()

	w.OpenMap("session")
	if s, ok := e.str(t.Path(sc, "sessionIssuer", "arn")); ok {
		w.Str("issuer", s)
	}
	if i := t.Path(sc, "attributes", "creationDate"); i >= 0 {
		if s, ok := t.Str(i); ok {
			if ct, ok := common.ParseTime(s); ok {
				e.use(i)
				w.Int("created_time", ct.UnixMilli())
				e.tmp = common.AppendMillisUTC(e.tmp[:0], ct)
				w.Str("created_time_dt", e.tmp)
			}
		}
	}
	if i := t.Path(sc, "attributes", "mfaAuthenticated"); i >= 0 {
		if s, ok := t.Str(i); ok && (string(s) == "true" || string(s) == "false") {
			e.use(i)
			w.Bool("is_mfa", string(s) == "true")
		}
	}
	w.Close()

	if s, ok := e.str(e.id.InvokedBy); ok {
		w.Str("invoked_by", s)
		if e.v15 {
			// invoked_by is deprecated since OCSF 1.2 in favour of app_name;
			// AWS's 1.5.0 mapping still writes invoked_by, so write both.
			w.Str("app_name", s)
		}
	}

	w.OpenMap("idp")
	if s, ok := e.str(t.Path(sc, "webIdFederationData", "federatedProvider")); ok {
		w.Str("name", s)
	} else if s, ok := e.str(e.id.IdentityProvider); ok {
		w.Str("name", s)
	}
	if s, ok := e.str(t.Path(e.id.OnBehalfOf, "identityStoreArn")); ok {
		w.Str("uid", s)
	}
	w.Close()
	w.Close()
}

func (e *encoder) srcEndpoint() {
	t, w, f := &e.t, &e.w, &e.f
	w.OpenMap("src_endpoint")
	if s, ok := t.Str(f.sourceIP); ok && len(s) > 0 {
		switch {
		case common.IsIP(s):
			e.use(f.sourceIP)
			w.Str("ip", s)
			e.obsIP = s
		case common.LooksNumericAddress(s):
			// A malformed IP literal is neither an IP nor a domain; it
			// stays in unmapped.sourceIPAddress.
		default:
			e.use(f.sourceIP)
			w.Str("domain", s)
			e.obsDomain = s
		}
	}
	if s, ok := e.str(f.vpcEndpointID); ok {
		w.Str("uid", s)
	}
	w.Close()
}

func (e *encoder) resources() {
	t, w, f := &e.t, &e.w, &e.f
	if t.Kind(f.resources) != jsontree.Array || t.Nodes[f.resources].N == 0 {
		return
	}
	// Only objects are resources; anything else stays in unmapped.
	for c := t.Nodes[f.resources].First; c != jsontree.None; c = t.Nodes[c].Next {
		if t.Nodes[c].Kind != jsontree.Object {
			return
		}
	}
	e.use(f.resources)
	w.OpenArray("resources")
	for c := t.Nodes[f.resources].First; c != jsontree.None; c = t.Nodes[c].Next {
		e.markSubtree(c)
		w.OpenMapElem()
		if s, ok := t.Str(t.Get(c, "ARN")); ok {
			w.Str("uid", s)
		} else if s, ok := t.Str(t.Get(c, "ARNPrefix")); ok {
			w.Str("uid", s)
		}
		if s, ok := t.Str(t.Get(c, "type")); ok {
			w.Str("type", s)
		}
		if s, ok := t.Str(t.Get(c, "accountId")); ok {
			w.OpenMap("owner")
			w.OpenMap("account")
			w.Str("uid", s)
			w.Close()
			w.Close()
		}
		// Any other member is kept under data so nothing is lost.
		extra := false
		for m := t.Nodes[c].First; m != jsontree.None; m = t.Nodes[m].Next {
			switch string(t.Key(m)) {
			case "ARN", "type", "accountId":
			case "ARNPrefix":
				if t.Get(c, "ARN") >= 0 {
					extra = true
				}
			default:
				extra = true
			}
		}
		if extra {
			w.OpenMap("data")
			for m := t.Nodes[c].First; m != jsontree.None; m = t.Nodes[m].Next {
				k := string(t.Key(m))
				if k != "ARN" && k != "type" && k != "accountId" {
					w.KeyBytes(t.Key(m))
					w.B = mpw.AppendNode(w.B, t, m, w.Level())
				}
			}
			w.Close()
		}
		w.CloseKeep()
	}
	w.Close()
}

// authentication writes the Authentication attributes: the target user,
// is_mfa and dst_endpoint.
func (e *encoder) authentication(name []byte) {
	t, w, f := &e.t, &e.w, &e.f
	w.OpenMap("user")
	if len(name) >= 10 && string(name[:10]) == "AssumeRole" {
		// The subject of AssumeRole* is the role being assumed.
		if s, ok := t.Str(t.Get(f.requestParameters, "roleArn")); ok {
			w.Str("uid", s)
		}
		if s, ok := t.Str(t.Get(f.requestParameters, "roleSessionName")); ok {
			w.Str("name", s)
			e.obsUserName = s
		}
	} else {
		if s, ok := t.Str(e.id.ARN); ok {
			w.Str("uid", s)
		}
		if s, ok := t.Str(e.id.PrincipalID); ok {
			w.Str("uid_alt", s)
		}
	}
	w.Close()
	if i := t.Get(f.additionalEventData, "MFAUsed"); i >= 0 {
		if s, ok := t.Str(i); ok && (string(s) == "Yes" || string(s) == "No") {
			e.use(i)
			w.Bool("is_mfa", string(s) == "Yes")
		}
	}
	if s, ok := e.str(t.Get(f.additionalEventData, "LoginTo")); ok {
		w.OpenMap("dst_endpoint")
		w.Str("svc_name", s)
		w.Close()
	}
}

// accountChange writes the user that an IAM change targets.
func (e *encoder) accountChange() {
	t, w, f := &e.t, &e.w, &e.f
	rq, rs := f.requestParameters, f.responseElements
	w.OpenMap("user")
	uid, okUID := t.Str(t.Path(rs, "user", "userId"))
	if !okUID {
		uid, okUID = t.Str(t.Path(rs, "role", "roleId"))
	}
	name, okName := t.Str(t.Get(rq, "userName"))
	if !okName {
		name, okName = t.Str(t.Get(rq, "roleName"))
	}
	if !okName {
		name, okName = t.Str(t.Path(rs, "user", "userName"))
	}
	if !okName {
		name, okName = t.Str(t.Path(rs, "role", "roleName"))
	}
	if !okUID && !okName {
		// No target named in the call: the caller changed itself (for
		// example ChangePassword).
		uid, okUID = t.Str(e.id.PrincipalID)
		name, okName = t.Str(e.id.UserName)
	}
	if okUID {
		w.Str("uid", uid)
	}
	if okName {
		w.Str("name", name)
		e.obsUserName = name
	}
	w.Close()
}
