package process

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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
