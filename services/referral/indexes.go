package referral

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The repository's reads of the indexes: the only Redis the list, worklist and retention code sees.

// scored is an index member and its score.
type scored struct {
	Member string
	Score  float64
}

// idsAfter reads up to count ids of an id-ordered index after cursor (exclusive), newest first or,
// with oldestFirst, oldest first; an empty cursor starts at the newest (oldest).
func (rp *repo) idsAfter(ctx context.Context, key, cursor string, count int, oldestFirst bool) ([]string, error) {
	// With REV, ZRANGE takes the upper bound first.
	args := redis.ZRangeArgs{Key: key, Start: "+", Stop: "-", ByLex: true, Rev: true, Count: int64(count)}
	if oldestFirst {
		args.Start, args.Stop, args.Rev = "-", "+", false
	}
	if cursor != "" {
		args.Start = "(" + cursor
	}
	out, err := rp.rdb.ZRangeArgs(ctx, args).Result()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	return out, nil
}

// byScore reads up to count members of a scored index from min to max (Redis score bounds: "-inf",
// "+inf", "(" for exclusive), lowest first.
func (rp *repo) byScore(ctx context.Context, key, min, max string, count int) ([]scored, error) {
	zs, err := rp.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{Key: key, Start: min, Stop: max, ByScore: true, Count: int64(count)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	out := make([]scored, len(zs))
	for i, z := range zs {
		m, _ := z.Member.(string)
		out[i] = scored{Member: m, Score: z.Score}
	}
	return out, nil
}

// withNHSNumber lists the ids of the referrals of a person by NHS number, through its keyed hash.
func (rp *repo) withNHSNumber(ctx context.Context, nhs string) ([]string, error) {
	out, err := rp.rdb.SMembers(ctx, rp.keys.NHSNumber(rp.pii.Index("nhs-number", nhs))).Result()
	if err != nil {
		return nil, fmt.Errorf("read NHS number index: %w", err)
	}
	return out, nil
}

// countByStatus counts the referrals in each status from the status indexes, in one round trip.
func (rp *repo) countByStatus(ctx context.Context) (map[Status]int64, error) {
	pipe := rp.rdb.Pipeline()
	cmds := make(map[Status]*redis.IntCmd, len(Statuses))
	for _, st := range Statuses {
		cmds[st] = pipe.ZCard(ctx, rp.keys.ReferralsByStatus(string(st)))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("count referrals: %w", err)
	}
	out := make(map[Status]int64, len(Statuses))
	for st, cmd := range cmds {
		out[st] = cmd.Val()
	}
	return out, nil
}

// closedBefore lists up to count referrals closed before cutoff, oldest first.
func (rp *repo) closedBefore(ctx context.Context, cutoff time.Time, count int) ([]string, error) {
	out, err := rp.rdb.ZRangeArgs(ctx, redis.ZRangeArgs{Key: rp.keys.ClosedReferrals(),
		Start: "-inf", Stop: strconv.FormatInt(cutoff.UnixMilli(), 10), ByScore: true, Count: int64(count)}).Result()
	if err != nil {
		return nil, fmt.Errorf("read closed referrals: %w", err)
	}
	return out, nil
}

// forgetClosed drops a referral that no longer exists from the retention index.
func (rp *repo) forgetClosed(ctx context.Context, id string) error {
	return rp.rdb.ZRem(ctx, rp.keys.ClosedReferrals(), id).Err()
}

// releaseScript frees a lock only while the caller's token still holds it.
var releaseScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`)

// lockSweeper takes the retention sweeper's lock for ttl with token; false when another replica holds it.
func (rp *repo) lockSweeper(ctx context.Context, token string, ttl time.Duration) (bool, error) {
	ok, err := rp.rdb.SetNX(ctx, rp.keys.SweeperLock(), token, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("take sweeper lock: %w", err)
	}
	return ok, nil
}

// unlockSweeper frees the sweeper's lock if token still holds it.
func (rp *repo) unlockSweeper(ctx context.Context, token string) error {
	return releaseScript.Run(ctx, rp.rdb, []string{rp.keys.SweeperLock()}, token).Err()
}
