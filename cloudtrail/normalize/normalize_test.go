package normalize_test

import (
	"strings"
	"testing"

	"github.com/cloudtrail-fluentbit/in_cloudtrail/cloudtrail/normalize"
)

func TestNew(t *testing.T) {
	for _, c := range []struct {
		cfg     normalize.Config
		wantEnc bool
		errHas  string
	}{
		{normalize.Config{}, false, ""},
		{normalize.Config{Schema: "raw"}, false, ""},
		{normalize.Config{Schema: "ocsf"}, true, ""},
		{normalize.Config{Schema: "ocsf", OCSFVersion: "1.5.0", OCSFClasses: "api_activity"}, true, ""},
		{normalize.Config{Schema: "ecs"}, true, ""},
		{normalize.Config{Schema: "cef"}, false, `"cef"`},
		{normalize.Config{Schema: "ocsf", OCSFVersion: "1.0.0-rc.2"}, false, `"1.0.0-rc.2"`},
		{normalize.Config{Schema: "raw", OCSFClasses: "aws"}, false, `"aws"`},
	} {
		enc, err := normalize.New(c.cfg)
		if c.errHas != "" {
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Errorf("%+v: err %v, want one naming %s", c.cfg, err, c.errHas)
			}
			continue
		}
		if err != nil || (enc != nil) != c.wantEnc {
			t.Errorf("%+v: enc %v err %v", c.cfg, enc, err)
		}
	}
}
