package process

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Record is what a detached process leaves beside its data so that a later supervisor can find
// it again: its pid and the ports it was given.
type Record struct {
	Pid   int            `json:"pid"`
	Ports map[string]int `json:"ports,omitempty"`
	// Config is a digest of the configuration the process was started with, so a supervisor
	// adopts it only when that configuration is still the one wanted.
	Config string `json:"config,omitempty"`
}

// WriteRecord saves a record atomically.
func WriteRecord(path string, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode process record: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write process record: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write process record: %w", err)
	}
	return nil
}

// ReadRecord loads a record; a missing file is (Record{}, nil).
func ReadRecord(path string) (Record, error) {
	var r Record
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("read process record: %w", err)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("decode process record %s: %w", path, err)
	}
	return r, nil
}

// Adopt takes over a process this one did not start, if pid is alive and works in dir (so a
// recycled pid is never mistaken for the component: every supervised component runs in its own
// data folder). It returns nil when there is nothing to adopt. An adopted process is watched by
// polling, as only a parent can wait.
func Adopt(name string, pid int, dir string) *Process {
	if pid <= 0 || !worksIn(pid, dir) {
		return nil
	}
	p := &Process{spec: Spec{Name: name}, pid: pid, done: make(chan struct{})}
	go func() {
		ticker := time.NewTicker(200 * time.Millisecond)
		defer ticker.Stop()
		for range ticker.C {
			if !alive(pid) {
				p.err = fmt.Errorf("adopted %s (pid %d) exited", name, pid)
				close(p.done)
				return
			}
		}
	}()
	return p
}

// StopStrays kills every process that runs the program at path in dir: a supervisor killed between
// starting a detached component and writing its record leaves one behind, unknown to the next
// supervisor, which would otherwise start a second server on the same data. Only the same program
// in the same folder is a stray (a shell opened in the folder is not). It returns once they are gone.
func StopStrays(path, dir string) error {
	program, err := exec.LookPath(path)
	if err == nil {
		program, err = filepath.EvalSymlinks(program)
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", path, err)
	}
	folder, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil // nothing can work in a folder that does not exist yet
	}
	if err != nil {
		return fmt.Errorf("resolve %s: %w", dir, err)
	}
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return fmt.Errorf("list processes: %w", err)
	}
	var strays []int
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, errExe := os.Readlink(filepath.Join(p, "exe"))
		cwd, errCwd := os.Readlink(filepath.Join(p, "cwd"))
		// A binary rebuilt since the stray started shows as deleted; it is still that program.
		if errExe != nil || errCwd != nil || strings.TrimSuffix(exe, " (deleted)") != program || strings.TrimSuffix(cwd, " (deleted)") != folder {
			continue
		}
		strays = append(strays, pid)
	}
	var errs []error
	for _, pid := range strays {
		// A stray leads its own group (see Start), and anything it forked goes with it.
		if pgid, err := syscall.Getpgid(pid); err == nil && pgid == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("stop stray %s (pid %d): %w", filepath.Base(program), pid, err))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range strays {
		for alive(pid) {
			if time.Now().After(deadline) {
				return errors.Join(append(errs, fmt.Errorf("stray %s (pid %d) still runs after SIGKILL", filepath.Base(program), pid))...)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return errors.Join(errs...)
}

func worksIn(pid int, dir string) bool {
	cwd, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "cwd"))
	if err != nil || !alive(pid) {
		return false
	}
	want, err := filepath.EvalSymlinks(dir)
	return err == nil && filepath.Clean(cwd) == want
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may contain spaces.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}
