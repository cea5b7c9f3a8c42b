package app

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// redisLatency records how long Redis takes, by command name (a bounded set: the commands the
// services send; a pipeline counts as one, "pipeline").
type redisLatency struct{ seconds *prometheus.HistogramVec }

func newRedisLatency(reg prometheus.Registerer) redisLatency {
	h := redisLatency{seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "homeward_redis_command_duration_seconds", Help: "How long the tenant's Redis took to answer, by command.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"command"})}
	reg.MustRegister(h.seconds)
	return h
}

func (h redisLatency) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h redisLatency) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		h.seconds.WithLabelValues(strings.ToLower(cmd.Name())).Observe(time.Since(start).Seconds())
		return err
	}
}

func (h redisLatency) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		h.seconds.WithLabelValues("pipeline").Observe(time.Since(start).Seconds())
		return err
	}
}
