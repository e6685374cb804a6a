package backfill

import (
	"sort"
)

// Group is one line of a dry run: an account, a region and a day.
type Group struct {
	Account, Region, Day string // Day is YYYY-MM-DD
}

// Count is the objects and bytes of a group.
type Count struct {
	Objects, Bytes int64
}

// Tally counts the selected objects of a dry run per group.
type Tally map[Group]Count

func (t *Tally) add(o Object) {
	if *t == nil {
		*t = Tally{}
	}
	g := Group{Account: o.File.Account, Region: o.File.Region, Day: o.File.Time.Format("2006-01-02")}
	c := (*t)[g]
	c.Objects++
	c.Bytes += o.Size
	(*t)[g] = c
}

func (t Tally) clone() Tally {
	out := make(Tally, len(t))
	for k, v := range t {
		out[k] = v
	}
	return out
}

// Groups returns the groups sorted by account, region and day.
func (t Tally) Groups() []Group {
	out := make([]Group, 0, len(t))
	for g := range t {
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Account != b.Account {
			return a.Account < b.Account
		}
		if a.Region != b.Region {
			return a.Region < b.Region
		}
		return a.Day < b.Day
	})
	return out
}
