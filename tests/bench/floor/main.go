// Command floor is the smallest useful secrets plugin on the Vault SDK framework: one path,
// "value/<name>", whose read does a single storage Get over the go-plugin broker and returns the
// stored bytes. It measures the cost of the protocol itself (socket, TLS, gRPC, broker storage)
// for the benchmark. A write stores the "value" field so the benchmark can seed an entry.
package main

import (
	"context"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/framework"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/plugin"
)

func main() {
	if err := plugin.ServeMultiplex(&plugin.ServeOpts{BackendFactoryFunc: factory}); err != nil {
		hclog.New(&hclog.LoggerOptions{}).Error("plugin shutting down", "error", err)
		os.Exit(1)
	}
}

func factory(ctx context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &framework.Backend{
		BackendType: logical.TypeLogical,
		Paths: []*framework.Path{{
			Pattern: "value/" + framework.GenericNameRegex("name"),
			Fields: map[string]*framework.FieldSchema{
				"name":  {Type: framework.TypeString, Description: "Name of the entry."},
				"value": {Type: framework.TypeString, Description: "Value to store."},
			},
			Operations: map[logical.Operation]framework.OperationHandler{
				logical.ReadOperation:   &framework.PathOperation{Callback: readValue},
				logical.UpdateOperation: &framework.PathOperation{Callback: writeValue},
				logical.CreateOperation: &framework.PathOperation{Callback: writeValue},
			},
			ExistenceCheck: func(context.Context, *logical.Request, *framework.FieldData) (bool, error) {
				return true, nil
			},
		}},
	}
	if err := b.Setup(ctx, conf); err != nil {
		return nil, err
	}
	return b, nil
}

func readValue(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	entry, err := req.Storage.Get(ctx, "value/"+d.Get("name").(string))
	if err != nil {
		return nil, err
	}
	if entry == nil {
		return nil, nil
	}
	return &logical.Response{Data: map[string]interface{}{"value": string(entry.Value)}}, nil
}

func writeValue(ctx context.Context, req *logical.Request, d *framework.FieldData) (*logical.Response, error) {
	entry := &logical.StorageEntry{Key: "value/" + d.Get("name").(string), Value: []byte(d.Get("value").(string))}
	return nil, req.Storage.Put(ctx, entry)
}
