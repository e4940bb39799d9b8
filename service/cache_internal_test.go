package service

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestByteCache checks the bounded cache of rendered bytes: a tag must
// match, the least recently used entry leaves first, what it holds is
// counted by capacity, and nothing larger than the budget is kept.
func TestByteCache(t *testing.T) {
	body := func(n int) []byte { return make([]byte, n) }
	c := newByteCache[int64](100)
	c.Put(1, "v1", body(40))
	c.Put(2, "v1", body(40))
	if _, ok := c.Get(1, "v2"); ok {
		t.Error("Get answered for another tag")
	}
	if _, ok := c.Get(1, "v1"); !ok { // 1 is now the most recently used
		t.Fatal("Get(1) missed")
	}
	c.Put(3, "v1", body(40)) // over 100: 2, the least recently used, leaves
	present := func() []int64 {
		var got []int64
		for _, k := range []int64{1, 2, 3} {
			if _, ok := c.Get(k, "v1"); ok {
				got = append(got, k)
			}
		}
		return got
	}
	if diff := cmp.Diff([]int64{1, 3}, present()); diff != "" {
		t.Errorf("entries after the third Put (-want +got):\n%s", diff)
	}
	if got := c.Size(); got != 80 {
		t.Errorf("Size = %d, want 80", got)
	}
	c.Put(1, "v2", make([]byte, 10, 60)) // replaces 1; its capacity counts
	if got := c.Size(); got != 100 {
		t.Errorf("Size after replacing = %d, want 100 (40 + a capacity of 60)", got)
	}
	c.Put(4, "v1", body(101))
	if _, ok := c.Get(4, "v1"); ok {
		t.Error("a body over the whole budget was kept")
	}
	if got := c.Size(); got != 100 {
		t.Errorf("Size after an oversized Put = %d, want 100", got)
	}
	c.Delete(3)
	if got := c.Size(); got != 60 {
		t.Errorf("Size after Delete = %d, want 60", got)
	}
}
