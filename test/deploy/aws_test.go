// Package deploy keeps the deployment material true: the AWS templates under
// conf/aws (syntax, references, and a policy that grants exactly what the
// code calls), the Fluent Bit examples under conf/ and the Kubernetes
// manifests under conf/kubernetes.
package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"go.yaml.in/yaml/v3"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/test/emu"
)

// iamAction maps an AWS API operation the code calls to the IAM action that
// authorizes it ("" when none is needed).
var iamAction = map[string]string{
	"sqs.ReceiveMessage":               "sqs:ReceiveMessage",
	"sqs.DeleteMessage":                "sqs:DeleteMessage",
	"sqs.DeleteMessageBatch":           "sqs:DeleteMessage",
	"sqs.ChangeMessageVisibility":      "sqs:ChangeMessageVisibility",
	"sqs.ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
	"sqs.GetQueueAttributes":           "sqs:GetQueueAttributes",
	"s3.GetObject":                     "s3:GetObject",
	"s3.HeadObject":                    "s3:GetObject",
	"sts.AssumeRole":                   "sts:AssumeRole",
	"sts.GetCallerIdentity":            "", // needs no permission
	"s3.ListObjectsV2":                 "s3:ListBucket",
	"sqs.SendMessage":                  "sqs:SendMessage",
	"sqs.SendMessageBatch":             "sqs:SendMessage",
	"cloudtrail.ListPublicKeys":        "cloudtrail:ListPublicKeys",
}

// noResource are the actions AWS authorizes on no resource type (the
// Service Authorization Reference lists none for them), so a policy can
// only grant them on "*".
var noResource = map[string]bool{"cloudtrail:ListPublicKeys": true}

// onlyStar reports whether every action of a statement is in noResource.
func onlyStar(actions []string) bool {
	for _, a := range actions {
		if !noResource[a] {
			return false
		}
	}
	return len(actions) > 0
}

// readerDirs hold the code the reader role runs: the plugin and the check.
var readerDirs = []string{"cloudtrail/collector", "cloudtrail/integrity", "cloudtrail/awsapi", "cloudtrail/check", "plugin"}

// codeCalls finds every AWS operation called by the code in dirs: calls of a method named like an operation of the SQS, S3 or STS
// client, and the SDK's AssumeRole credential provider.
// must lists operations the scan has to find, to show it works.
func codeCalls(t *testing.T, dirs, must []string) map[string][]string {
	ops := map[string]string{} // method name -> service
	for svc, v := range map[string]any{"sqs": &sqs.Client{}, "s3": &s3.Client{}, "sts": &sts.Client{}, "cloudtrail": &cloudtrail.Client{}} {
		ty := reflect.TypeOf(v)
		for i := 0; i < ty.NumMethod(); i++ {
			name := ty.Method(i).Name
			if name == "Options" {
				continue
			}
			if prev, ok := ops[name]; ok && prev != svc {
				t.Fatalf("operation %s exists in %s and %s: the test cannot tell them apart", name, prev, svc)
			}
			ops[name] = svc
		}
	}
	found := map[string][]string{} // svc.Op -> where
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(emu.Root(), dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				where := fset.Position(call.Pos()).String()
				if sel.Sel.Name == "NewAssumeRoleProvider" {
					found["sts.AssumeRole"] = append(found["sts.AssumeRole"], where)
				} else if svc, ok := ops[sel.Sel.Name]; ok {
					found[svc+"."+sel.Sel.Name] = append(found[svc+"."+sel.Sel.Name], where)
				}
				return true
			})
		}
	}
	for _, op := range must {
		if len(found[op]) == 0 {
			t.Fatalf("the code scan found no call of %s: the scan is broken", op)
		}
	}
	return found
}

// readerActions is what the reader role must grant: every call's IAM
// action except STS (the trust policy's business), plus kms:Decrypt, which
// S3 uses on the reader's behalf for SSE-KMS objects.
func readerActions(t *testing.T) []string {
	calls := codeCalls(t, readerDirs, []string{"sqs.ReceiveMessage", "sqs.DeleteMessageBatch", "sqs.ChangeMessageVisibility", "s3.GetObject", "sts.AssumeRole"})
	return grants(t, calls, "kms:Decrypt")
}

// grants maps calls to the IAM actions a policy must grant, leaving STS to
// the trust policy, plus extra.
func grants(t *testing.T, calls map[string][]string, extra ...string) []string {
	set := map[string]bool{}
	for _, a := range extra {
		set[a] = true
	}
	for op, where := range calls {
		a, ok := iamAction[op]
		if !ok {
			t.Errorf("the code calls %s (%s) and the test does not know its IAM action: add it to iamAction and to both templates' policies", op, where[0])
			continue
		}
		if a != "" && !strings.HasPrefix(a, "sts:") {
			set[a] = true
		}
	}
	return sortedKeys(set)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func root(parts ...string) string { return filepath.Join(append([]string{emu.Root()}, parts...)...) }

// --- CloudFormation ----------------------------------------------------------------------

type cfn struct {
	t                         *testing.T
	params, resources, conds  map[string]*yaml.Node
	refs, getatts, conditions []string
}

func mapping(n *yaml.Node) map[string]*yaml.Node {
	m := map[string]*yaml.Node{}
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = n.Content[i+1]
		}
	}
	return m
}

var subVarRE = regexp.MustCompile(`\$\{([^}!]+)\}`)

// walk collects every reference of the template: !Ref / Ref, !GetAtt /
// Fn::GetAtt, ${} in !Sub / Fn::Sub (minus the variables its map defines),
// and the conditions of !If / Fn::If.
func (c *cfn) walk(n *yaml.Node) {
	switch {
	case n.Tag == "!Ref":
		c.refs = append(c.refs, n.Value)
	case n.Tag == "!GetAtt":
		c.getatts = append(c.getatts, strings.SplitN(n.Value, ".", 2)[0])
	case n.Tag == "!Sub":
		tmpl, local := n.Value, map[string]bool{}
		if n.Kind == yaml.SequenceNode && len(n.Content) == 2 {
			tmpl = n.Content[0].Value
			for k := range mapping(n.Content[1]) {
				local[k] = true
			}
		}
		for _, m := range subVarRE.FindAllStringSubmatch(tmpl, -1) {
			name := strings.SplitN(m[1], ".", 2)[0]
			if !local[name] {
				c.refs = append(c.refs, name)
			}
		}
	case n.Tag == "!If" && len(n.Content) > 0:
		c.conditions = append(c.conditions, n.Content[0].Value)
	case n.Tag == "!Condition":
		c.conditions = append(c.conditions, n.Value)
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k, v := n.Content[i].Value, n.Content[i+1]; k {
			case "Ref":
				c.refs = append(c.refs, v.Value)
			case "Fn::GetAtt":
				if len(v.Content) > 0 {
					c.getatts = append(c.getatts, v.Content[0].Value)
				}
			case "Fn::If":
				if len(v.Content) > 0 {
					c.conditions = append(c.conditions, v.Content[0].Value)
				}
			}
		}
	}
	for _, ch := range n.Content {
		c.walk(ch)
	}
}

// statements returns the statements of a policy document, unwrapping
// !If [cond, statement, !Ref AWS::NoValue].
func statements(doc *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for _, s := range mapping(doc)["Statement"].Content {
		if s.Tag == "!If" {
			for _, b := range s.Content[1:] {
				if b.Kind == yaml.MappingNode {
					out = append(out, b)
				}
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

func actions(stmts []*yaml.Node) []string {
	set := map[string]bool{}
	for _, s := range stmts {
		a := mapping(s)["Action"]
		if a == nil {
			continue
		}
		if a.Kind == yaml.ScalarNode {
			set[a.Value] = true
		}
		for _, x := range a.Content {
			set[x.Value] = true
		}
	}
	return sortedKeys(set)
}

func TestCloudFormationTemplate(t *testing.T) {
	b, err := os.ReadFile(root("conf", "aws", "cloudformation.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("cloudformation.yaml: %v", err)
	}
	top := mapping(doc.Content[0])
	for k := range top {
		if !slices.Contains([]string{"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions", "Transform", "Resources", "Outputs"}, k) {
			t.Errorf("unknown top-level section %s", k)
		}
	}
	if top["AWSTemplateFormatVersion"].Value != "2010-09-09" {
		t.Error("AWSTemplateFormatVersion is not 2010-09-09")
	}
	c := &cfn{t: t, params: mapping(top["Parameters"]), resources: mapping(top["Resources"]), conds: mapping(top["Conditions"])}
	for name, r := range c.resources {
		rm := mapping(r)
		if ty := rm["Type"]; ty == nil || !regexp.MustCompile(`^AWS::\w+::\w+$`).MatchString(ty.Value) {
			t.Errorf("resource %s: no AWS::Service::Type type", name)
		}
		for k := range rm {
			if !slices.Contains([]string{"Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy", "UpdateReplacePolicy"}, k) {
				t.Errorf("resource %s: unknown attribute %s", name, k)
			}
		}
		if cond := rm["Condition"]; cond != nil {
			c.conditions = append(c.conditions, cond.Value)
		}
		if d := rm["DependsOn"]; d != nil {
			for _, x := range append([]*yaml.Node{d}, d.Content...) {
				if x.Kind == yaml.ScalarNode && c.resources[x.Value] == nil {
					t.Errorf("resource %s depends on unknown %s", name, x.Value)
				}
			}
		}
	}
	for name, p := range c.params {
		if mapping(p)["Type"] == nil {
			t.Errorf("parameter %s has no Type", name)
		}
	}
	for name, o := range mapping(top["Outputs"]) {
		if mapping(o)["Value"] == nil {
			t.Errorf("output %s has no Value", name)
		}
	}
	c.walk(doc.Content[0])
	for _, r := range c.refs {
		if c.params[r] == nil && c.resources[r] == nil && !strings.HasPrefix(r, "AWS::") {
			t.Errorf("reference to unknown %s", r)
		}
	}
	for _, r := range c.getatts {
		if c.resources[r] == nil {
			t.Errorf("!GetAtt of unknown resource %s", r)
		}
	}
	for _, r := range c.conditions {
		if c.conds[r] == nil {
			t.Errorf("unknown condition %s", r)
		}
	}
	if len(c.refs) < 10 || len(c.conditions) < 5 {
		t.Fatalf("the reference walk found too little (%d refs, %d conditions): it is broken", len(c.refs), len(c.conditions))
	}

	// The path: a queue with a dead-letter queue, notified by the bucket.
	q := mapping(mapping(c.resources["Queue"])["Properties"])
	if rp := mapping(q["RedrivePolicy"]); rp["deadLetterTargetArn"] == nil || rp["maxReceiveCount"] == nil {
		t.Error("the queue has no redrive policy to a dead-letter queue")
	}

	// The reader role grants exactly what the code calls.
	role := mapping(mapping(c.resources["ReaderRole"])["Properties"])
	var stmts []*yaml.Node
	for _, p := range role["Policies"].Content {
		stmts = append(stmts, statements(mapping(p)["PolicyDocument"])...)
	}
	if got, want := actions(stmts), readerActions(t); !slices.Equal(got, want) {
		t.Errorf("CloudFormation reader policy grants %v; the code calls %v", got, want)
	}
	for _, s := range stmts {
		if r := mapping(s)["Resource"]; r == nil || (r.Value == "*" && !onlyStar(actions([]*yaml.Node{s}))) {
			t.Errorf("a reader statement has no resource or *: %v", actions([]*yaml.Node{s}))
		}
		if a := actions([]*yaml.Node{s}); slices.Contains(a, "kms:Decrypt") && mapping(mapping(s)["Condition"])["StringEquals"] == nil {
			t.Error("kms:Decrypt is not conditioned (kms:ViaService)")
		}
	}
	trust := statements(role["AssumeRolePolicyDocument"])
	if got := actions(trust); !slices.Equal(got, []string{"sts:AssumeRole"}) {
		t.Errorf("trust policy actions %v, want [sts:AssumeRole]", got)
	}
	if !strings.Contains(string(b), "sts:ExternalId") {
		t.Error("the trust policy does not require the external ID")
	}
}

// --- Terraform ---------------------------------------------------------------------------

var (
	tfActionsRE = regexp.MustCompile(`\bactions\s*=\s*\[([^\]]*)\]`)
	tfActionRE  = regexp.MustCompile(`"([^"]+)"`)
)

// tfActions returns the actions of every `actions = [...]` of a policy
// document block.
func tfActions(body string) []string {
	set := map[string]bool{}
	for _, l := range tfActionsRE.FindAllStringSubmatch(body, -1) {
		for _, m := range tfActionRE.FindAllStringSubmatch(l[1], -1) {
			set[m[1]] = true
		}
	}
	return sortedKeys(set)
}

func TestTerraformModule(t *testing.T) {
	dir := root("conf", "aws", "terraform")
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	if len(files) < 4 {
		t.Fatalf("%d .tf files in %s", len(files), dir)
	}
	declared := map[string]bool{}
	var all []hclBlock
	var text strings.Builder
	for _, f := range files {
		b, _ := os.ReadFile(f)
		blocks, err := scanHCL(string(b))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		for _, bl := range blocks {
			h := strings.Fields(strings.ReplaceAll(bl.Header, `"`, ""))
			switch {
			case len(h) == 3 && h[0] == "resource":
				declared[h[1]+"."+h[2]] = true
			case len(h) == 3 && h[0] == "data":
				declared["data."+h[1]+"."+h[2]] = true
			case len(h) == 2 && h[0] == "variable":
				declared["var."+h[1]] = true
			case len(h) == 1 && h[0] == "locals":
				for _, m := range regexp.MustCompile(`(?m)^\s*(\w+)\s*=`).FindAllStringSubmatch(bl.Body, -1) {
					declared["local."+m[1]] = true
				}
			case len(h) == 2 && h[0] == "output", len(h) == 1 && h[0] == "terraform":
			default:
				t.Errorf("%s:%d: unexpected top-level block %q", filepath.Base(f), bl.Line, bl.Header)
			}
			text.WriteString(bl.Body + "\n")
		}
		all = append(all, blocks...)
	}
	// Every reference names something declared.
	refRE := regexp.MustCompile(`\b(var\.\w+|local\.\w+|data\.aws_\w+\.\w+|aws_\w+\.\w+)`)
	for _, m := range refRE.FindAllString(text.String(), -1) {
		if !declared[m] && !strings.HasPrefix(m, "aws_iam_policy_document") {
			t.Errorf("reference to undeclared %s", m)
		}
	}

	block := func(header string) string {
		for _, b := range all {
			if b.Header == header {
				return b.Body
			}
		}
		t.Fatalf("no block %s", header)
		return ""
	}
	got := tfActions(block(`data "aws_iam_policy_document" "reader"`))
	if want := readerActions(t); !slices.Equal(got, want) {
		t.Errorf("Terraform reader policy grants %v; the code calls %v", got, want)
	}
	trust := block(`data "aws_iam_policy_document" "trust"`)
	if got := tfActions(trust); !slices.Equal(got, []string{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"}) {
		t.Errorf("trust policy actions %v, want sts:AssumeRole (external ID) and sts:AssumeRoleWithWebIdentity (IRSA)", got)
	}
	if !strings.Contains(trust, "sts:ExternalId") {
		t.Error("the trust policy does not require the external ID")
	}
	if !strings.Contains(block(`resource "aws_sqs_queue" "queue"`), "redrive_policy") {
		t.Error("the queue has no redrive policy")
	}

	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Log("terraform not found: syntax checked by the built-in scanner only (install terraform for `terraform fmt -check`)")
		return
	}
	cmd := exec.Command(tf, "fmt", "-check", "-diff", "-no-color", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHECKPOINT_DISABLE=1", "TF_CLI_CONFIG_FILE=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("terraform fmt -check (a syntax error, or formatting): %v\n%s", err, out)
	}
}

func TestHCLScanner(t *testing.T) {
	good := "# c\nresource \"a\" \"b\" {\n  x = \"${var.y}-{\" // c\n  /* } */ z = [{ a = \"}\" }]\n  h = <<-EOT\n  { not code\n  EOT\n}\nlocals {\n  q = 1\n}\n"
	bl, err := scanHCL(good)
	if err != nil || len(bl) != 2 || bl[0].Header != `resource "a" "b"` || bl[1].Header != "locals" || bl[0].Line != 2 {
		t.Fatalf("%v %+v", err, bl)
	}
	for _, bad := range []string{"a {", "a { x = [ }", "a { x = \"y }\n", "a { /* }", "a { h = <<EOT\nx\n}"} {
		if _, err := scanHCL(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
