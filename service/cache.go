package service

import (
	"container/list"
	"sync"
)

// DefaultFeedCacheBytes is Service.FeedCacheBytes when it is 0: the bytes
// of rendered feed text the service keeps in memory across all users. A
// feed of 10,000 blocks is about 10 MiB; a busy networker's few hundred
// blocks are a few hundred KiB. What does not fit is rendered again when
// asked for.
const DefaultFeedCacheBytes = 16 << 20

// byteCache is a least-recently-used cache of byte slices bounded by the
// sum of their capacities (what they hold in memory, not only their length). Each entry carries a tag (a version, an ETag): Get
// answers only for the tag it was stored with. It is safe for concurrent
// use. Stored slices are shared: callers must not change them.
type byteCache[K comparable] struct {
	mu     sync.Mutex
	budget int
	size   int
	items  map[K]*list.Element
	order  list.List // of *byteEntry[K], most recently used first
}

type byteEntry[K comparable] struct {
	key  K
	tag  string
	body []byte
}

// newByteCache returns a cache holding at most budget bytes.
func newByteCache[K comparable](budget int) *byteCache[K] {
	return &byteCache[K]{budget: budget, items: map[K]*list.Element{}}
}

// Get returns the bytes stored under key with tag.
func (c *byteCache[K]) Get(key K, tag string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok || el.Value.(*byteEntry[K]).tag != tag {
		return nil, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*byteEntry[K]).body, true
}

// Put stores body under key with tag, replacing what key held, and drops
// the least recently used entries until the cache is within its budget. A
// body larger than the whole budget is not kept.
func (c *byteCache[K]) Put(key K, tag string, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
	if cap(body) > c.budget {
		return
	}
	c.items[key] = c.order.PushFront(&byteEntry[K]{key: key, tag: tag, body: body})
	c.size += cap(body)
	for c.size > c.budget {
		c.remove(c.order.Back().Value.(*byteEntry[K]).key)
	}
}

// Delete drops what key holds.
func (c *byteCache[K]) Delete(key K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(key)
}

// Size returns the bytes held.
func (c *byteCache[K]) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

func (c *byteCache[K]) remove(key K) {
	el, ok := c.items[key]
	if !ok {
		return
	}
	c.order.Remove(el)
	delete(c.items, key)
	c.size -= cap(el.Value.(*byteEntry[K]).body)
}
