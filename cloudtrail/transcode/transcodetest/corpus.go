package transcodetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Corpus is a synthetic CloudTrail log file.
type Corpus struct {
	JSON   []byte // {"Records":[...]}, compact, as CloudTrail writes it
	Gzip   []byte // JSON compressed at the default level
	Events int
	// EventTimes holds each event's eventTime, in order.
	EventTimes []time.Time
}

// Generate returns a deterministic CloudTrail log file of n events: the same
// n always gives the same bytes. Events have CloudTrail's field order and a
// realistic service mix (S3 data events, KMS, EC2 Describe*, STS with long
// session tokens, IAM with escaped policy documents, large RunInstances
// responses, console logins), averaging about 1.7 KB, and the file
// compresses about 6×.
func Generate(n int) Corpus {
	g := &gen{rng: rand.New(rand.NewPCG(uint64(n)+1, 0x5eed)), account: "123456789012"}
	g.principals()
	base := time.Date(2024, 3, 14, 9, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	c := Corpus{Events: n}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		t := base.Add(time.Duration(i) * 300 * time.Second / time.Duration(max(n, 1))).Truncate(time.Second)
		c.EventTimes = append(c.EventTimes, t)
		g.event(&b, t)
	}
	b.WriteString(`]}`)
	c.JSON = b.Bytes()
	c.Gzip = Gzip(c.JSON)
	return c
}

// Gzip compresses data at the default level, as one gzip member.
func Gzip(data []byte) []byte {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(data) // a bytes.Buffer does not fail
	w.Close()
	return z.Bytes()
}

type principal struct {
	kind, user, arn, principalID, accessKey, ip, agent, role string
}

type gen struct {
	rng     *rand.Rand
	account string
	ps      []principal
	zipf    *rand.Zipf
}

var agents = []string{
	"aws-sdk-go-v2/1.24.1 os/linux lang/go#1.21.6 md/GOOS#linux md/GOARCH#amd64 api/s3#1.48.0",
	"Boto3/1.34.34 md/Botocore#1.34.34 ua/2.0 os/linux#5.10.205-195.807.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.34",
	"aws-cli/2.15.17 Python/3.11.6 Linux/6.5.0-1014-aws exe/x86_64.ubuntu.22 prompt/off command/s3.cp",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
	"aws-sdk-java/2.21.29 Linux/5.10.205-195.807.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.9+8-LTS Java/17.0.9 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
	"Terraform/1.7.3 (+https://www.terraform.io) terraform-provider-aws/5.36.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.24.1",
}

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(16)]
	}
	return string(b)
}

func (g *gen) upper(n int) string {
	const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.IntN(len(digits))]
	}
	return string(b)
}

func (g *gen) uuid() string {
	return g.hex(8) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(4) + "-" + g.hex(12)
}

func (g *gen) principals() {
	roles := []string{"app-backend", "data-pipeline", "ci-deployer", "lambda-exec", "ops-admin", "analytics-reader", "eks-node"}
	for i := range 40 {
		p := principal{
			ip:    fmt.Sprintf("%d.%d.%d.%d", 3+g.rng.IntN(50), g.rng.IntN(256), g.rng.IntN(256), 1+g.rng.IntN(254)),
			agent: agents[g.rng.IntN(len(agents))],
		}
		switch {
		case i%5 == 4:
			p.kind, p.user = "IAMUser", fmt.Sprintf("user-%02d", i)
			p.principalID = "AIDA" + g.upper(17)
			p.arn = "arn:aws:iam::" + g.account + ":user/" + p.user
			p.accessKey = "AKIA" + g.upper(16)
		default:
			p.kind, p.role = "AssumedRole", roles[i%len(roles)]
			p.user = fmt.Sprintf("session-%d-%s", i, g.hex(6))
			p.principalID = "AROA" + g.upper(17) + ":" + p.user
			p.arn = "arn:aws:sts::" + g.account + ":assumed-role/" + p.role + "/" + p.user
			p.accessKey = "ASIA" + g.upper(16)
		}
		g.ps = append(g.ps, p)
	}
	g.zipf = rand.NewZipf(g.rng, 1.2, 2, uint64(len(g.ps)-1))
}

// obj is a JSON object that keeps its key order.
type obj []kv
type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// raw is a float written as CloudTrail writes doubles, e.g. 1234.0.
type rawNum string

func (r rawNum) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func (g *gen) identity(p principal, t time.Time) obj {
	id := obj{{"type", p.kind}, {"principalId", p.principalID}, {"arn", p.arn}, {"accountId", g.account}, {"accessKeyId", p.accessKey}}
	if p.kind == "IAMUser" {
		id = append(id, kv{"userName", p.user})
		return id
	}
	id = append(id, kv{"sessionContext", obj{
		{"sessionIssuer", obj{{"type", "Role"}, {"principalId", p.principalID[:21]}, {"arn", "arn:aws:iam::" + g.account + ":role/" + p.role}, {"accountId", g.account}, {"userName", p.role}}},
		{"webIdFederationData", obj{}},
		{"attributes", obj{{"creationDate", t.Add(-37 * time.Minute).Format(time.RFC3339)}, {"mfaAuthenticated", "false"}}},
	}})
	if g.rng.IntN(10) == 0 {
		id = append(id, kv{"invokedBy", "cloudformation.amazonaws.com"})
	}
	return id
}

func (g *gen) event(b *bytes.Buffer, t time.Time) {
	p := g.ps[g.zipf.Uint64()]
	region := []string{"us-east-1", "us-east-1", "eu-west-1", "us-west-2"}[g.rng.IntN(4)]
	var source, name string
	var req, resp any
	var resources []any
	readOnly := true
	var extra obj
	switch r := g.rng.IntN(1000); {
	case r < 297: // S3 data events
		source = "s3.amazonaws.com"
		name = []string{"GetObject", "PutObject", "HeadObject", "GetObject"}[g.rng.IntN(4)]
		readOnly = name != "PutObject"
		bucket := fmt.Sprintf("corp-data-%s-%d", region, g.rng.IntN(5))
		key := fmt.Sprintf("raw/dt=2024-03-14/hour=%02d/part-%05d-%s.snappy.parquet", g.rng.IntN(24), g.rng.IntN(2000), g.uuid())
		req = obj{{"bucketName", bucket}, {"Host", bucket + ".s3." + region + ".amazonaws.com"}, {"key", key}}
		extra = obj{{"additionalEventData", obj{{"SignatureVersion", "SigV4"}, {"CipherSuite", "ECDHE-RSA-AES128-GCM-SHA256"}, {"bytesTransferredIn", rawNum(strconv.Itoa(g.rng.IntN(3)*g.rng.IntN(900000)) + ".0")}, {"AuthenticationMethod", "AuthHeader"}, {"x-amz-id-2", g.upper(60) + "="}, {"bytesTransferredOut", rawNum(strconv.Itoa(g.rng.IntN(5000000)) + ".0")}}}}
		resources = []any{
			obj{{"type", "AWS::S3::Object"}, {"ARN", "arn:aws:s3:::" + bucket + "/" + key}},
			obj{{"accountId", g.account}, {"type", "AWS::S3::Bucket"}, {"ARN", "arn:aws:s3:::" + bucket}},
		}
	case r < 498: // KMS
		source = "kms.amazonaws.com"
		name = []string{"Decrypt", "GenerateDataKey", "Encrypt"}[g.rng.IntN(3)]
		keyArn := "arn:aws:kms:" + region + ":" + g.account + ":key/" + g.uuid()
		req = obj{{"keyId", keyArn}, {"encryptionAlgorithm", "SYMMETRIC_DEFAULT"}, {"encryptionContext", obj{{"aws:s3:arn", "arn:aws:s3:::corp-data/" + g.hex(24)}}}}
		resources = []any{obj{{"accountId", g.account}, {"type", "AWS::KMS::Key"}, {"ARN", keyArn}}}
	case r < 649: // EC2 Describe*
		source = "ec2.amazonaws.com"
		name = []string{"DescribeInstances", "DescribeSecurityGroups", "DescribeVolumes", "DescribeSubnets"}[g.rng.IntN(4)]
		var ids []any
		for range g.rng.IntN(8) {
			ids = append(ids, obj{{"instanceId", "i-0" + g.hex(16)}})
		}
		req = obj{{"instancesSet", obj{{"items", ids}}}, {"filterSet", obj{{"items", []any{obj{{"name", "tag:Environment"}, {"valueSet", obj{{"items", []any{obj{{"value", "production"}}}}}}}}}}}, {"maxResults", 1000}}
	case r < 750: // STS
		source = "sts.amazonaws.com"
		name = "AssumeRole"
		readOnly = true
		role := "arn:aws:iam::" + g.account + ":role/" + []string{"app-backend", "data-pipeline", "ci-deployer"}[g.rng.IntN(3)]
		req = obj{{"roleArn", role}, {"roleSessionName", "session-" + g.hex(10)}, {"durationSeconds", 3600}}
		resp = obj{
			{"credentials", obj{{"accessKeyId", "ASIA" + g.upper(16)}, {"sessionToken", g.upper(600 + g.rng.IntN(600))}, {"expiration", t.Add(time.Hour).Format("Jan 2, 2006, 3:04:05 PM")}}},
			{"assumedRoleUser", obj{{"assumedRoleId", "AROA" + g.upper(17) + ":session"}, {"arn", role + "/session"}}},
		}
		resources = []any{obj{{"accountId", g.account}, {"type", "AWS::IAM::Role"}, {"ARN", role}}}
		extra = obj{{"sharedEventID", g.uuid()}}
	case r < 837: // SSM, Logs, Secrets Manager, ECR
		source = []string{"ssm.amazonaws.com", "logs.amazonaws.com", "secretsmanager.amazonaws.com", "ecr.amazonaws.com"}[g.rng.IntN(4)]
		name = []string{"GetParameter", "CreateLogStream", "GetSecretValue", "GetAuthorizationToken"}[g.rng.IntN(4)]
		req = obj{{"name", "/prod/app/" + g.hex(8)}, {"withDecryption", true}}
	case r < 890: // DynamoDB
		source = "dynamodb.amazonaws.com"
		name = []string{"DescribeTable", "UpdateItem", "Query"}[g.rng.IntN(3)]
		req = obj{{"tableName", "orders-" + g.hex(4)}, {"key", obj{{"pk", obj{{"S", "ORDER#" + g.hex(12)}}}}}, {"returnConsumedCapacity", "TOTAL"}}
		resp = obj{{"consumedCapacity", obj{{"tableName", "orders"}, {"capacityUnits", rawNum("1.0")}}}}
	case r < 941: // Lambda
		source = "lambda.amazonaws.com"
		name = "Invoke"
		fn := "arn:aws:lambda:" + region + ":" + g.account + ":function:worker-" + g.hex(4)
		req = obj{{"functionName", fn}, {"invocationType", "Event"}}
		extra = obj{{"additionalEventData", obj{{"functionVersion", fn + ":$LATEST"}}}}
		resources = []any{obj{{"accountId", g.account}, {"type", "AWS::Lambda::Function"}, {"ARN", fn}}}
	case r < 970: // IAM with escaped policy documents
		source = "iam.amazonaws.com"
		name = "PutRolePolicy"
		readOnly = false
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::corp-data-` + g.hex(6) + `/*"},{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]}`
		req = obj{{"roleName", "app-" + g.hex(6)}, {"policyName", "inline-" + g.hex(4)}, {"policyDocument", policy}}
	case r < 991: // EC2 RunInstances, large responses
		source = "ec2.amazonaws.com"
		name = "RunInstances"
		readOnly = false
		var items []any
		for range 1 + g.rng.IntN(12) {
			items = append(items, obj{
				{"instanceId", "i-0" + g.hex(16)}, {"imageId", "ami-0" + g.hex(16)}, {"state", obj{{"code", 0}, {"name", "pending"}}},
				{"privateDnsName", "ip-10-0-" + strconv.Itoa(g.rng.IntN(256)) + "-" + strconv.Itoa(g.rng.IntN(256)) + ".ec2.internal"},
				{"amiLaunchIndex", 0}, {"productCodes", obj{}}, {"instanceType", "m6i.large"}, {"launchTime", t.UnixMilli()},
				{"placement", obj{{"availabilityZone", region + "a"}, {"tenancy", "default"}}}, {"monitoring", obj{{"state", "disabled"}}},
				{"subnetId", "subnet-0" + g.hex(16)}, {"vpcId", "vpc-0" + g.hex(16)}, {"privateIpAddress", "10.0.1.2"},
				{"groupSet", obj{{"items", []any{obj{{"groupId", "sg-0" + g.hex(16)}, {"groupName", "default"}}}}}},
				{"architecture", "x86_64"}, {"rootDeviceType", "ebs"}, {"rootDeviceName", "/dev/xvda"}, {"blockDeviceMapping", obj{}},
				{"virtualizationType", "hvm"}, {"hypervisor", "xen"}, {"ebsOptimized", true}, {"enaSupport", true},
				{"cpuOptions", obj{{"coreCount", 1}, {"threadsPerCore", 2}}}, {"capacityReservationSpecification", obj{{"capacityReservationPreference", "open"}}},
				{"metadataOptions", obj{{"state", "pending"}, {"httpTokens", "required"}, {"httpPutResponseHopLimit", 2}, {"httpEndpoint", "enabled"}}},
			})
		}
		req = obj{{"instancesSet", obj{{"items", []any{obj{{"imageId", "ami-0" + g.hex(16)}, {"minCount", 1}, {"maxCount", len(items)}}}}}}, {"instanceType", "m6i.large"}}
		resp = obj{{"requestId", g.uuid()}, {"reservationId", "r-0" + g.hex(16)}, {"ownerId", g.account}, {"groupSet", obj{}}, {"instancesSet", obj{{"items", items}}}}
	default: // console login
		source = "signin.amazonaws.com"
		name = "ConsoleLogin"
		readOnly = false
		resp = obj{{"ConsoleLogin", []string{"Success", "Failure"}[g.rng.IntN(2)]}}
		extra = obj{{"additionalEventData", obj{{"LoginTo", "https://console.aws.amazon.com/console/home"}, {"MobileVersion", "No"}, {"MFAUsed", "Yes"}}}}
	}
	ev := obj{
		{"eventVersion", "1.09"},
		{"userIdentity", g.identity(p, t)},
		{"eventTime", t.Format(time.RFC3339)},
		{"eventSource", source},
		{"eventName", name},
		{"awsRegion", region},
		{"sourceIPAddress", p.ip},
		{"userAgent", p.agent},
		{"requestParameters", req},
		{"responseElements", resp},
	}
	for _, e := range extra {
		if e.k == "additionalEventData" {
			ev = append(ev, e)
		}
	}
	ev = append(ev, kv{"requestID", g.uuid()}, kv{"eventID", g.uuid()}, kv{"readOnly", readOnly})
	if resources != nil {
		ev = append(ev, kv{"resources", resources})
	}
	ev = append(ev, kv{"eventType", "AwsApiCall"}, kv{"managementEvent", source != "s3.amazonaws.com"}, kv{"recipientAccountId", g.account})
	for _, e := range extra {
		if e.k == "sharedEventID" {
			ev = append(ev, e)
		}
	}
	ev = append(ev, kv{"eventCategory", map[bool]string{true: "Management", false: "Data"}[source != "s3.amazonaws.com"]},
		kv{"tlsDetails", obj{{"tlsVersion", "TLSv1.3"}, {"cipherSuite", "TLS_AES_128_GCM_SHA256"}, {"clientProvidedHostHeader", source[:len(source)-len(".amazonaws.com")] + "." + region + ".amazonaws.com"}}})
	out, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	b.Write(out)
}
