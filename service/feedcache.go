package service

import (
	"container/list"
	"sync"
)

// DefaultFeedCacheBytes bounds the rendered feeds kept in memory, all
// users together: a feed of 10,000 blocks takes about 11 MB, a busy
// networker's few hundred blocks about 0.3 MB.
const DefaultFeedCacheBytes = 32 << 20

// feedCache keeps the last render of users' feeds, the least recently
// served dropped first once their bytes pass the bound.
type feedCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	order *list.List // of *feedItem, the most recently served first
	items map[int64]*list.Element
}

type feedItem struct {
	userID int64
	r      *feedRender
	size   int64
}

func newFeedCache(max int64) *feedCache {
	return &feedCache{max: max, order: list.New(), items: map[int64]*list.Element{}}
}

// feeds returns the service's feed cache.
func (s *Service) feeds() *feedCache {
	s.feedOnce.Do(func() {
		max := s.FeedCacheBytes
		if max == 0 {
			max = DefaultFeedCacheBytes
		}
		s.feedCache = newFeedCache(max)
	})
	return s.feedCache
}

// get returns the user's last render, nil when none is kept.
func (c *feedCache) get(userID int64) *feedRender {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[userID]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*feedItem).r
}

// put keeps r as the user's render unless a render of a later version is
// kept already, then drops the least recently served renders past the
// bound. A render larger than the bound is not kept.
func (c *feedCache) put(userID int64, r *feedRender) {
	size := r.size()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[userID]; ok {
		if e.Value.(*feedItem).r.rev > r.rev {
			return
		}
		c.remove(e)
	}
	if size > c.max {
		return
	}
	c.items[userID] = c.order.PushFront(&feedItem{userID: userID, r: r, size: size})
	c.size += size
	for c.size > c.max {
		c.remove(c.order.Back())
	}
}

// drop forgets the user's render.
func (c *feedCache) drop(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[userID]; ok {
		c.remove(e)
	}
}

func (c *feedCache) remove(e *list.Element) {
	it := e.Value.(*feedItem)
	c.order.Remove(e)
	delete(c.items, it.userID)
	c.size -= it.size
}

// bytes returns the size of the renders kept.
func (c *feedCache) bytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}
