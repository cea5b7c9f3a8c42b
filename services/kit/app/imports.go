package app

import (
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/importer"
)

// MaxImportBytes bounds one imported file (a spreadsheet of a partnership's whole history is far smaller).
const MaxImportBytes = 64 << 20

// ImportTimeLimit is how long one import may take to upload, check and write: far past the
// server's usual deadlines, which are for the live API (docs/performance.md has the measured rate).
const ImportTimeLimit = 30 * time.Minute

// ImportKeyPattern is what an import key may be: the old system's own ids, printable ASCII.
var ImportKeyPattern = regexp.MustCompile(`^[!-~]{1,128}$`)

// ImportReport says what an import did.
type ImportReport struct {
	Layout    string `json:"layout"`
	File      string `json:"file"`
	SHA256    string `json:"sha256"`
	Rows      int    `json:"rows"`
	Imported  int    `json:"imported"`
	Unchanged int    `json:"unchanged"`
}

// ImportFile is an uploaded file, kept on disk so the whole of it is checked before anything is
// written and then read again to write, in memory flat in its size.
type ImportFile struct {
	Path, Name, SHA256 string
}

// Provenance is what an imported record's audit trail says of where it came from.
func (f *ImportFile) Provenance(row int) string {
	return fmt.Sprintf("imported from %s (sha256 %s) row %d", f.Name, f.SHA256, row)
}

// Import is one layout a service imports: how a row becomes a record, and how a record is written.
type Import[R any] struct {
	Layout importer.Layout
	// Row makes a row into a record, recording every problem on rd; bad is true when it has any.
	Row func(ctx context.Context, rd *importer.Reader, row importer.Row) (record R, bad bool, err error)
	// Write writes one record atomically, claiming its import key; claimed is true when the key was
	// imported before, and nothing was written.
	Write func(r *http.Request, file *ImportFile, row int, record R) (claimed bool, err error)
	// Done, when set, reports which of a batch of import keys were imported before: their rows are
	// then left as they are, unchecked, since what has happened to their records since is not the
	// file's business.
	Done func(ctx context.Context, keys []string) ([]bool, error)
	// Prefetch, when set, is called with each batch of rows before they are made records, so a layout
	// can read what they refer to in one round trip rather than one a row.
	Prefetch func(ctx context.Context, rows []importer.Row) error
	// Partition, when set, names what a record's write must be ordered with (its unit, say): records
	// of one partition are written one after another in file order, others at the same time. Unset,
	// every record stands alone.
	Partition func(rec R) string
}

// ErrChangedSinceCheck, wrapped by an Import's Write, means what a row depends on changed between the
// check of the file and the writing of the row (someone booked its unit, say): the answer is a 409
// naming the row, the rows before it written.
var ErrChangedSinceCheck = errors.New("changed since the file was checked")

// Imports serves POST /v1/imports for the layouts a service imports, by the layout query parameter.
type Imports map[string]func(w http.ResponseWriter, r *http.Request, file *ImportFile)

// Handle answers POST /v1/imports: the layout, a CSV body, then the layout's import.
func (im Imports) Handle(w http.ResponseWriter, r *http.Request) {
	run, ok := im[r.URL.Query().Get("layout")]
	if !ok {
		names := make([]string, 0, len(im))
		for n := range im {
			names = append(names, n)
		}
		httpapi.WriteProblem(w, r, httpapi.BadRequest("unknown layout", httpapi.FieldError{Field: "layout", Message: "this service imports " + strings.Join(names, ", ")}))
		return
	}
	rc := http.NewResponseController(w)
	for _, extend := range []func(time.Time) error{rc.SetReadDeadline, rc.SetWriteDeadline} {
		if err := extend(time.Now().Add(ImportTimeLimit)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			httpapi.Internal(w, r, fmt.Errorf("extend the deadline for an import: %w", err))
			return
		}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "text/csv" {
		httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type",
			"Send a CSV file", "send the file as Content-Type: text/csv"))
		return
	}
	file, prob, err := spool(r)
	if err != nil {
		httpapi.Internal(w, r, err)
		return
	}
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return
	}
	defer func() { _ = os.Remove(file.Path) }()
	run(w, r, file)
}

// Run imports a file in the layout: every row is checked and nothing is written unless the whole
// file is clean; then each record is written, a row imported before left as it is.
func (im Import[R]) Run(w http.ResponseWriter, r *http.Request, file *ImportFile) {
	rows := 0
	errs, err := im.each(r.Context(), file, func(int, R, bool) error { rows++; return nil })
	if err != nil {
		WriteStorageProblem(w, r, err, "the records the file refers to")
		return
	}
	if len(errs) > 0 {
		p := httpapi.Invalid(fmt.Sprintf("%s: %d problem(s); nothing was imported", file.Name, len(errs)))
		p.ImportErrors = errs
		writeImportProblem(w, r, p)
		return
	}
	report := ImportReport{Layout: im.Layout.Name, File: file.Name, SHA256: file.SHA256, Rows: rows}
	changed, err := im.write(r, file, &report)
	if err != nil {
		// What was written stays; sending the file again writes the rest.
		WriteStorageProblem(w, r, err, "the import")
		return
	}
	if len(changed) > 0 {
		// The records changed between the check and the write (someone booked a unit, say): what was
		// written stays, and sending the file again once it is fixed writes the rest.
		p := httpapi.NewProblem(http.StatusConflict, "import-conflict", "Records changed while importing",
			fmt.Sprintf("%s: %d row(s) imported, %d unchanged, then records changed under row %d; fix it and send the file again",
				file.Name, report.Imported, report.Unchanged, changed[0].Row))
		p.ImportErrors = changed
		httpapi.WriteProblem(w, r, p)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, report)
}

// importWriters is how many records of a file are written at once (16 measured best here, against 8
// and 32): the file is read in order, and each record goes to the writer of its partition.
const importWriters = 16

// write is the writing pass: the file read again, each record written by the writer of its
// partition, so records of one partition are written in file order. It stops at the first failure;
// changed are the rows whose records changed since the check.
func (im Import[R]) write(r *http.Request, file *ImportFile, report *ImportReport) (changed []importer.Error, err error) {
	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	wr := r.WithContext(ctx)
	type job struct {
		row int
		rec R
	}
	var (
		mu                  sync.Mutex
		imported, unchanged atomic.Int64
		wg                  sync.WaitGroup
		queues              = make([]chan job, importWriters)
	)
	for i := range queues {
		queues[i] = make(chan job, 64)
		wg.Go(func() {
			for j := range queues[i] {
				if ctx.Err() != nil {
					continue
				}
				claimed, err := im.Write(wr, file, j.row, j.rec)
				switch {
				case errors.Is(err, ErrChangedSinceCheck):
					mu.Lock()
					changed = append(changed, importer.Error{File: file.Name, Row: j.row, Message: err.Error()})
					mu.Unlock()
					cancel(errStopImport)
				case err != nil:
					cancel(fmt.Errorf("row %d: %w", j.row, err))
				case claimed:
					unchanged.Add(1)
				default:
					imported.Add(1)
				}
			}
		})
	}
	next := 0
	_, readErr := im.each(ctx, file, func(row int, rec R, done bool) error {
		if done {
			unchanged.Add(1)
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		q := next % importWriters
		next++
		if im.Partition != nil {
			h := fnv.New32a()
			_, _ = h.Write([]byte(im.Partition(rec)))
			q = int(h.Sum32() % importWriters)
		}
		queues[q] <- job{row: row, rec: rec}
		return nil
	})
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	report.Imported, report.Unchanged = int(imported.Load()), int(unchanged.Load())
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		readErr = cause
	}
	if errors.Is(readErr, errStopImport) {
		readErr = nil
	}
	slices.SortFunc(changed, func(a, b importer.Error) int { return a.Row - b.Row })
	return changed, readErr
}

// errStopImport ends the writing pass at a row that changed since the check.
var errStopImport = errors.New("stop importing")

// each reads the file and makes each row a record, calling use for good rows while the file has no
// problem; it returns the file's problems. Import keys must be well formed and not repeat.
func (im Import[R]) each(ctx context.Context, file *ImportFile, use func(row int, rec R, done bool) error) ([]importer.Error, error) {
	f, err := os.Open(file.Path)
	if err != nil {
		return nil, fmt.Errorf("read the upload: %w", err)
	}
	defer func() { _ = f.Close() }()
	rd, err := importer.NewReader(f, file.Name, im.Layout)
	var headerErrs importer.Errors
	if errors.As(err, &headerErrs) {
		return headerErrs, nil
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for {
		batch := make([]importer.Row, 0, importBatch)
		for len(batch) < importBatch {
			row, ok := rd.Next()
			if !ok {
				break
			}
			batch = append(batch, row)
		}
		if len(batch) == 0 {
			// Reading ahead a batch records a later row's unreadable line before an earlier row's rules.
			slices.SortStableFunc(rd.Errors, func(a, b importer.Error) int { return a.Row - b.Row })
			return rd.Errors, nil
		}
		done := make([]bool, len(batch))
		if im.Done != nil {
			keys := make([]string, len(batch))
			for i, row := range batch {
				keys[i] = row.Key()
			}
			var err error
			if done, err = im.Done(ctx, keys); err != nil {
				return nil, err
			}
		}
		if im.Prefetch != nil {
			if err := im.Prefetch(ctx, batch); err != nil {
				return nil, err
			}
		}
		for i, row := range batch {
			if err := im.one(ctx, rd, row, done[i], seen, use); err != nil {
				return nil, err
			}
		}
	}
}

// importBatch is how many rows are read ahead, for Done and Prefetch to answer at once.
const importBatch = 256

// one checks a row's key and makes the row a record, calling use while the file has no problem.
func (im Import[R]) one(ctx context.Context, rd *importer.Reader, row importer.Row, done bool, seen map[string]int, use func(row int, rec R, done bool) error) error {
	key := row.Key()
	switch first, dup := seen[key]; {
	case !ImportKeyPattern.MatchString(key):
		rd.Fail(row, importer.KeyColumn, "must be 1 to 128 printable characters without spaces")
	case dup && row.Get(importer.KeyColumn) == "":
		rd.Fail(row, importer.KeyColumn, fmt.Sprintf("is empty and the row repeats row %d exactly: give each row its importKey", first))
	case dup:
		rd.Fail(row, importer.KeyColumn, fmt.Sprintf("repeats the key of row %d", first))
	case done:
		seen[strings.Clone(key)] = row.Number // not the whole line the key is a slice of
		if len(rd.Errors) > 0 {
			return nil
		}
		var none R
		return use(row.Number, none, true)
	default:
		seen[strings.Clone(key)] = row.Number
	}
	rec, bad, err := im.Row(ctx, rd, row)
	if err != nil || bad || len(rd.Errors) > 0 {
		return err
	}
	return use(row.Number, rec, false)
}

// writeImportProblem answers a file's problems as problem details, or as a CSV file of them
// (file,row,column,message) when the caller asks for text/csv: a spreadsheet to fix the file by.
func writeImportProblem(w http.ResponseWriter, r *http.Request, p *httpapi.Problem) {
	if !wantsCSV(r.Header.Get("Accept")) {
		httpapi.WriteProblem(w, r, p)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(p.Status)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"file", "row", "column", "message"})
	for _, e := range p.ImportErrors {
		_ = cw.Write([]string{e.File, strconv.Itoa(e.Row), e.Column, e.Message})
	}
	cw.Flush()
}

// wantsCSV reports whether an Accept header names text/csv before any JSON type.
func wantsCSV(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		switch {
		case err != nil:
			continue
		case mt == "text/csv":
			return true
		case strings.HasSuffix(mt, "json"), mt == "*/*":
			return false
		}
	}
	return false
}

// spool keeps the request body in a temporary file and hashes it.
func spool(r *http.Request) (*ImportFile, *httpapi.Problem, error) {
	name := strings.TrimSpace(r.Header.Get("X-Import-File"))
	if name == "" {
		name = "upload.csv"
	}
	if len(name) > 200 || strings.ContainsAny(name, "\x00\r\n") {
		return nil, httpapi.BadRequest("X-Import-File must be a file name of at most 200 characters"), nil
	}
	f, err := os.CreateTemp("", "homeward-import-*.csv")
	if err != nil {
		return nil, nil, fmt.Errorf("keep the upload: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r.Body, MaxImportBytes+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, nil, fmt.Errorf("keep the upload: %w", err)
	}
	if n > MaxImportBytes {
		_ = os.Remove(f.Name())
		return nil, httpapi.NewProblem(http.StatusRequestEntityTooLarge, "too-large", "File too large",
			fmt.Sprintf("a file is at most %d MB; split it by year", MaxImportBytes>>20)), nil
	}
	return &ImportFile{Path: f.Name(), Name: filepath.Base(name), SHA256: hex.EncodeToString(h.Sum(nil))}, nil, nil
}
