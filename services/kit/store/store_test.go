package store_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// replyCutter relays connections to Redis and, when armed, closes the connection a script was sent
// on as soon as Redis starts to answer it: Redis has run the script, the client never sees the
// reply. That is the network fault no real Redis produces on demand, so it is the one double here.
type replyCutter struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	cuts   atomic.Int32
	wg     sync.WaitGroup
}

func newReplyCutter(t *testing.T, target string) *replyCutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &replyCutter{ln: ln, target: target}
	c.wg.Go(c.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		c.wg.Wait()
	})
	return c
}

func (c *replyCutter) accept() {
	for {
		client, err := c.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", c.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		var sentScript atomic.Bool
		closeBoth := func() { _ = client.Close(); _ = server.Close() }
		c.wg.Go(func() {
			defer closeBoth()
			buf := make([]byte, 64<<10)
			for {
				n, err := client.Read(buf)
				if n > 0 {
					if c.armed.Load() && bytes.Contains(bytes.ToUpper(buf[:n]), []byte("EVALSHA")) {
						sentScript.Store(true)
					}
					if _, werr := server.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
		c.wg.Go(func() {
			defer closeBoth()
			buf := make([]byte, 64<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 && sentScript.Load() && c.armed.CompareAndSwap(true, false) {
					c.cuts.Add(1)
					return // the script ran; its reply is lost with the connection
				}
				if n > 0 {
					if _, werr := client.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}

// A commit whose reply is lost is sent again by the client library; the second run must find
// the first one's work and answer as it would have, never as a conflict with its own write, and
// must write nothing twice.
func TestACommitSentAgainAfterItsReplyWasLostAppliesOnce(t *testing.T) {
	srv := testenv.Redis(t, redisserver.Options{})
	cutter := newReplyCutter(t, srv.Addr())
	rdb := redis.NewClient(&redis.Options{Addr: cutter.ln.Addr().String(), Username: redisserver.AdminUser, Password: srv.AdminPassword(),
		MaxRetries: 3, MinRetryBackoff: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	commit := func(version int64, doc string) store.Commit {
		return store.Commit{Key: "rec:1", ExpectVersion: version, Doc: []byte(doc), Summary: []byte("s"), Ops: []store.Op{
			store.XAdd("events", "doc", doc),
			store.SAdd("index", doc),
		}}
	}
	// Load the script first, so the cut falls on the commit itself.
	if _, err := store.Apply(ctx, rdb, store.Commit{Key: "warm", Doc: []byte("{}")}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name    string
		commit  store.Commit
		version int64
	}{
		{"a create", func() store.Commit {
			c := commit(0, "first")
			c.Ops = append(c.Ops, store.Claim("claim:1", "hash rec:1", 0))
			return c
		}(), 1},
		{"an update", commit(1, "second"), 2},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cutter.armed.Store(true)
			version, err := store.Apply(ctx, rdb, tc.commit)
			if cutter.cuts.Load() != int32(i+1) {
				t.Fatalf("the reply was not cut (%d cuts): the test proves nothing", cutter.cuts.Load())
			}
			if err != nil || version != tc.version {
				t.Fatalf("Apply after a lost reply: version %d, %v; want %d", version, err, tc.version)
			}
			events, err := srv.AdminClient().XLen(ctx, "events").Result()
			if err != nil || events != int64(i+1) {
				t.Errorf("%d events after %d commits (%v): a commit ran twice", events, i+1, err)
			}
			doc, err := srv.AdminClient().HGet(ctx, "rec:1", "doc").Result()
			if err != nil || doc != string(tc.commit.Doc) {
				t.Errorf("stored %q, %v; want %q", doc, err, tc.commit.Doc)
			}
		})
	}

	// A commit that was not applied still meets a real conflict.
	_, err := store.Apply(ctx, rdb, commit(1, "stale"))
	var conflict *store.ConflictError
	if !errors.As(err, &conflict) || conflict.Current != 2 {
		t.Errorf("a stale update: %v; want a conflict at version 2", err)
	}
}
