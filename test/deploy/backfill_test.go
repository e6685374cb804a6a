package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// backfillActions is what the backfill operator's policy must grant: the
// IAM actions of every AWS call of cloudtrail-backfill (its AssumeRole is
// the trust policy's business).
func backfillActions(t *testing.T) []string {
	calls := codeCalls(t, []string{"cloudtrail/backfill", "cloudtrail/cmd/cloudtrail-backfill"},
		[]string{"s3.ListObjectsV2", "sqs.SendMessageBatch", "sqs.GetQueueAttributes"})
	return grants(t, calls)
}

// TestBackfillOperatorPolicy keeps the optional backfill-operator policy of
// both templates equal to what cloudtrail-backfill calls, with the listing
// limited to the trail's prefix.
func TestBackfillOperatorPolicy(t *testing.T) {
	want := backfillActions(t)

	b, err := os.ReadFile(root("conf", "aws", "cloudformation.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	res := mapping(mapping(mapping(doc.Content[0])["Resources"])["BackfillOperatorPolicy"])
	if res["Condition"] == nil || res["Condition"].Value != "MakeBackfillPolicy" {
		t.Error("the CloudFormation backfill policy is not optional (Condition MakeBackfillPolicy)")
	}
	stmts := statements(mapping(res["Properties"])["PolicyDocument"])
	if got := actions(stmts); !slices.Equal(got, want) {
		t.Errorf("CloudFormation backfill policy grants %v; cloudtrail-backfill calls %v", got, want)
	}
	for _, s := range stmts {
		if slices.Contains(actions([]*yaml.Node{s}), "s3:ListBucket") && mapping(mapping(s)["Condition"])["StringLike"] == nil {
			t.Error("CloudFormation: s3:ListBucket is not conditioned on s3:prefix")
		}
	}

	tf, err := os.ReadFile(filepath.Join(root("conf", "aws", "terraform"), "iam.tf"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := scanHCL(string(tf))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(blocks, func(b hclBlock) bool { return b.Header == `data "aws_iam_policy_document" "backfill"` })
	if i < 0 {
		t.Fatal("iam.tf: no backfill policy document")
	}
	if got := tfActions(blocks[i].Body); !slices.Equal(got, want) {
		t.Errorf("Terraform backfill policy grants %v; cloudtrail-backfill calls %v", got, want)
	}
	if !strings.Contains(blocks[i].Body, `"s3:prefix"`) {
		t.Error("Terraform: s3:ListBucket is not conditioned on s3:prefix")
	}
}
