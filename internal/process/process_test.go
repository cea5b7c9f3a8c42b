package process_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/gomega"

	"github.com/homeward-dev/homeward/internal/process"
)

const parentEnv = "HOMEWARD_PROCESS_TEST_PARENT"

// TestMain lets the test binary play a parent that starts a child and then waits to be killed.
func TestMain(m *testing.M) {
	if os.Getenv(parentEnv) == "1" {
		p, err := process.Start(context.Background(), process.Spec{Name: "sleep", Path: "/bin/sleep", Args: []string{"300"}})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(p.Pid())
		<-p.Done()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func alive(pid int) bool {
	status, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	return err == nil && !strings.Contains(string(status), "State:\tZ")
}

func TestChildDiesWhenItsParentIsKilled(t *testing.T) {
	g := NewWithT(t)
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), parentEnv+"=1")
	out, err := parent.StdoutPipe()
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(parent.Start()).To(Succeed())
	line, err := bufio.NewReader(out).ReadString('\n')
	g.Expect(err).NotTo(HaveOccurred())
	child, err := strconv.Atoi(strings.TrimSpace(line))
	g.Expect(err).NotTo(HaveOccurred(), line)
	g.Expect(alive(child)).To(BeTrue())

	g.Expect(parent.Process.Signal(syscall.SIGKILL)).To(Succeed())
	_ = parent.Wait()
	g.Eventually(func() bool { return alive(child) }).WithTimeout(5 * time.Second).Should(BeFalse())
}

func TestStopEscalatesToKillAndTakesTheWholeGroup(t *testing.T) {
	g := NewWithT(t)
	pidFile := filepath.Join(t.TempDir(), "grandchild")
	// A shell that ignores SIGTERM and has started a grandchild of its own.
	p, err := process.Start(context.Background(), process.Spec{
		Name: "stubborn", Path: "/bin/sh",
		Args: []string{"-c", `trap "" TERM; sleep 300 & echo $! > ` + pidFile + `; wait`},
	})
	g.Expect(err).NotTo(HaveOccurred())
	var grandchild int
	g.Eventually(func() error {
		b, err := os.ReadFile(pidFile)
		if err == nil {
			grandchild, err = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		return err
	}).WithTimeout(5 * time.Second).Should(Succeed())

	g.Expect(p.Stop(200 * time.Millisecond)).To(Succeed())
	exited, _ := p.Exited()
	g.Expect(exited).To(BeTrue())
	g.Eventually(func() bool { return alive(grandchild) }).WithTimeout(5 * time.Second).Should(BeFalse())
}

func TestWaitReadyFailsFastWhenTheProcessExits(t *testing.T) {
	g := NewWithT(t)
	p, err := process.Start(context.Background(), process.Spec{Name: "false", Path: "/bin/false"})
	g.Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = p.WaitReady(ctx, 10*time.Millisecond, func(context.Context) error { return errors.New("not listening") })
	g.Expect(err).To(MatchError(ContainSubstring("false exited before it was ready")))
	g.Expect(err).To(MatchError(ContainSubstring("not listening")))
	g.Expect(ctx.Err()).NotTo(HaveOccurred(), "returned on exit, not on the deadline")
}

func TestStartReadyReportsATakenPortFromTheLog(t *testing.T) {
	g := NewWithT(t)
	logPath := filepath.Join(t.TempDir(), "server.log")
	_, err := process.StartReady(context.Background(), process.Launch{
		Spec:         process.Spec{Name: "server", Path: "/bin/sh", Args: []string{"-c", "echo 'bind: address already in use'; exit 1"}},
		LogPath:      logPath,
		Ready:        func(context.Context) error { return errors.New("not up") },
		Interval:     10 * time.Millisecond,
		Timeout:      10 * time.Second,
		PortTakenLog: "address already in use",
	})
	g.Expect(err).To(MatchError(process.ErrPortTaken))
}

// A supervisor killed while its server starts must leave a record of it: Started runs before the
// server is ready, and a failing Started stops the server rather than leave it unrecorded.
func TestStartedRunsBeforeReadyAndItsFailureStopsTheProcess(t *testing.T) {
	g := NewWithT(t)
	var startedPid int
	proc, err := process.StartReady(context.Background(), process.Launch{
		Spec:    process.Spec{Name: "sleeper", Path: "/bin/sleep", Args: []string{"30"}},
		LogPath: filepath.Join(t.TempDir(), "sleeper.log"),
		Started: func(p *process.Process) error { startedPid = p.Pid(); return nil },
		Ready: func(context.Context) error {
			if startedPid == 0 {
				return errors.New("ready asked before Started ran")
			}
			return nil
		},
		Interval: 10 * time.Millisecond, Timeout: 10 * time.Second,
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(startedPid).To(Equal(proc.Pid()))
	g.Expect(proc.Kill()).To(Succeed())

	var orphan int
	_, err = process.StartReady(context.Background(), process.Launch{
		Spec:    process.Spec{Name: "sleeper", Path: "/bin/sleep", Args: []string{"30"}},
		LogPath: filepath.Join(t.TempDir(), "sleeper.log"),
		Started: func(p *process.Process) error { orphan = p.Pid(); return errors.New("disk full") },
		Ready:   func(context.Context) error { return nil }, Interval: 10 * time.Millisecond, Timeout: 10 * time.Second,
	})
	g.Expect(err).To(MatchError(ContainSubstring("disk full")))
	g.Eventually(func() error { return syscall.Kill(orphan, 0) }).WithTimeout(5*time.Second).Should(HaveOccurred(), "the unrecorded process was stopped")
}

// A supervisor killed after starting a detached server but before recording it leaves a stray its
// successor cannot adopt. Starting that server again stops the stray first, and nothing else: not
// another program working in the folder, nor the same program in another folder.
func TestStartingADetachedServerStopsAStrayOfItInItsFolder(t *testing.T) {
	g := NewWithT(t)
	dir, elsewhere := t.TempDir(), t.TempDir()
	sleeper := func(dir string) process.Spec {
		return process.Spec{Name: "sleeper", Path: "/bin/sleep", Args: []string{"300"}, Dir: dir, Detached: true}
	}
	stray, err := process.Start(context.Background(), sleeper(dir))
	g.Expect(err).NotTo(HaveOccurred())
	neighbour, err := process.Start(context.Background(), sleeper(elsewhere))
	g.Expect(err).NotTo(HaveOccurred())
	other, err := process.Start(context.Background(), process.Spec{Name: "tail", Path: "/usr/bin/tail", Args: []string{"-f", "/dev/null"}, Dir: dir, Detached: true})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _, _, _ = stray.Kill(), neighbour.Kill(), other.Kill() })

	proc, err := process.StartReady(context.Background(), process.Launch{
		Spec: sleeper(dir), LogPath: filepath.Join(t.TempDir(), "sleeper.log"),
		Ready: func(context.Context) error { return nil }, Interval: 10 * time.Millisecond, Timeout: 10 * time.Second,
	})
	g.Expect(err).NotTo(HaveOccurred())
	t.Cleanup(func() { _ = proc.Kill() })
	g.Eventually(stray.Done()).WithTimeout(5*time.Second).Should(BeClosed(), "the stray in the folder was stopped")
	g.Expect(alive(proc.Pid())).To(BeTrue(), "the new server runs")
	g.Expect(alive(neighbour.Pid())).To(BeTrue(), "the same program in another folder is not a stray")
	g.Expect(alive(other.Pid())).To(BeTrue(), "another program in the folder (a shell, a tail of the log) is not a stray")
}

func TestCurrentKillAndStopAreSafeWithNothingRunning(t *testing.T) {
	g := NewWithT(t)
	var c process.Current
	g.Expect(c.Pid()).To(BeZero())
	g.Expect(c.Kill()).To(Succeed())
	g.Expect(c.Stop(time.Second)).To(Succeed())
}

func TestRetryOnPortTakenRetriesOnlyThatFailure(t *testing.T) {
	g := NewWithT(t)
	calls, resets := 0, 0
	err := process.RetryOnPortTaken(func() { resets++ }, func() error {
		calls++
		if calls < 3 {
			return fmt.Errorf("redis-server: %w", process.ErrPortTaken)
		}
		return nil
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect([]int{calls, resets}).To(Equal([]int{3, 2}))

	calls = 0
	err = process.RetryOnPortTaken(func() {}, func() error { calls++; return errors.New("bad config") })
	g.Expect(err).To(MatchError("bad config"))
	g.Expect(calls).To(Equal(1))

	err = process.RetryOnPortTaken(func() {}, func() error { return process.ErrPortTaken })
	g.Expect(err).To(MatchError(process.ErrPortTaken))
	g.Expect(err).To(MatchError(ContainSubstring("after 3 attempts")))
}
