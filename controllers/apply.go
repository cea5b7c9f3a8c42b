package controllers

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// FieldManager owns every field the operator sets through server-side apply.
const FieldManager = "homeward-operator"

// applyIfChanged server-side applies desired unless the fields this operator already owns on the
// live object (read from the cache into live) say exactly the same, so a reconcile of an
// unchanged tenant sends no write at all, while a deleted object or a field another writer
// changed is put back. extract is the apply-configuration package's Extract<Kind> function.
func ApplyIfChanged[O client.Object, A runtime.ApplyConfiguration](
	ctx context.Context, c client.Client, key client.ObjectKey, live O, desired A,
	extract func(O, string) (A, error),
) (bool, error) {
	err := c.Get(ctx, key, live)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return false, fmt.Errorf("get %T %s: %w", live, key, err)
	default:
		owned, err := extract(live, FieldManager)
		if err != nil {
			return false, fmt.Errorf("extract %T %s: %w", live, key, err)
		}
		same, err := sameJSON(owned, desired)
		if err != nil {
			return false, err
		}
		if same {
			return false, nil
		}
	}
	if err := c.Apply(ctx, desired, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return false, fmt.Errorf("apply %T %s: %w", live, key, err)
	}
	return true, nil
}

func sameJSON(a, b any) (bool, error) {
	var va, vb any
	for _, p := range []struct {
		in  any
		out *any
	}{{a, &va}, {b, &vb}} {
		raw, err := json.Marshal(p.in)
		if err != nil {
			return false, fmt.Errorf("encode apply configuration: %w", err)
		}
		if err := json.Unmarshal(raw, p.out); err != nil {
			return false, fmt.Errorf("decode apply configuration: %w", err)
		}
	}
	return reflect.DeepEqual(va, vb), nil
}
