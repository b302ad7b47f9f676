package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// gRPC moves the payload as it is, through a codec that hands gRPC the
// bytes: no protobuf, so gRPC moves the same bytes as every other
// contender.
const (
	rawCodecName = "benchraw"
	grpcService  = "bench.Bench"
)

func init() { encoding.RegisterCodec(rawCodec{}) }

// rawBytes is a gRPC message that is its own encoding.
type rawBytes []byte

type rawCodec struct{}

func (rawCodec) Name() string { return rawCodecName }

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*rawBytes)
	if !ok {
		return nil, fmt.Errorf("bench: raw codec cannot marshal a %T", v)
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*rawBytes)
	if !ok {
		return fmt.Errorf("bench: raw codec cannot unmarshal into a %T", v)
	}
	// gRPC may reuse data once Unmarshal returns.
	*b = append((*b)[:0], data...)
	return nil
}

var pluginHandshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "BENCH_PLUGIN",
	MagicCookieValue: "mage-bench",
}

// benchPlugin is the go-plugin plugin: a gRPC service on the child's side,
// a grpcClient on the parent's.
type benchPlugin struct {
	plugin.NetRPCUnsupportedPlugin
}

func (benchPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&grpcBenchDesc, struct{}{})
	return nil
}

func (benchPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return c, nil
}

var grpcBenchDesc = grpc.ServiceDesc{
	ServiceName: grpcService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ any, _ context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var b rawBytes
			if err := dec(&b); err != nil {
				return nil, err
			}
			return &b, nil
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Push",
		ClientStreams: true,
		Handler: func(_ any, stream grpc.ServerStream) error {
			var n uint64
			var b rawBytes
			for {
				err := stream.RecvMsg(&b)
				if errors.Is(err, io.EOF) {
					count := rawBytes(binary.LittleEndian.AppendUint64(nil, n))
					return stream.SendMsg(&count)
				}
				if err != nil {
					return err
				}
				n++
			}
		},
	}},
}

// grpcClient calls the service on one gRPC connection. A push is a message
// on a client stream that sync closes; the stream's answer is the count.
type grpcClient struct {
	ctx    context.Context
	conn   *grpc.ClientConn
	stream grpc.ClientStream
}

var rawCodecOption = grpc.CallContentSubtype(rawCodecName)

func (c *grpcClient) call(p []byte) error {
	req, resp := rawBytes(p), rawBytes(nil)
	if err := c.conn.Invoke(c.ctx, "/"+grpcService+"/Echo", &req, &resp, rawCodecOption); err != nil {
		return err
	}
	if len(resp) != len(p) {
		return fmt.Errorf("bench: gRPC echo of %d bytes came back with %d", len(p), len(resp))
	}
	return nil
}

func (c *grpcClient) push(p []byte) error {
	if c.stream == nil {
		s, err := c.conn.NewStream(c.ctx, &grpcBenchDesc.Streams[0], "/"+grpcService+"/Push", rawCodecOption)
		if err != nil {
			return err
		}
		c.stream = s
	}
	req := rawBytes(p)
	return c.stream.SendMsg(&req)
}

func (c *grpcClient) sync() (int64, error) {
	if c.stream == nil {
		return 0, nil
	}
	s := c.stream
	c.stream = nil
	if err := s.CloseSend(); err != nil {
		return 0, err
	}
	var resp rawBytes
	if err := s.RecvMsg(&resp); err != nil {
		return 0, err
	}
	if len(resp) != 8 {
		return 0, fmt.Errorf("bench: gRPC push count has %d bytes, want 8", len(resp))
	}
	return int64(binary.LittleEndian.Uint64(resp)), nil
}

type pluginSession struct {
	baseSession
	pc *plugin.Client
}

func (s *pluginSession) close() error {
	err := s.baseSession.close()
	s.pc.Kill()
	return err
}

func goPluginContender() *contender {
	return &contender{
		key:         "goplugin",
		name:        "go-plugin gRPC",
		multiplexed: true,
		start:       startGoPlugin,
		serve: func(context.Context, *childEnv) error {
			plugin.Serve(&plugin.ServeConfig{
				HandshakeConfig: pluginHandshake,
				Plugins:         plugin.PluginSet{"bench": benchPlugin{}},
				GRPCServer:      plugin.DefaultGRPCServer,
				Logger:          hclog.NewNullLogger(),
			})
			return nil
		},
	}
}

// startGoPlugin starts the child go-plugin's way (a handshake line on its
// stdout naming a Unix socket it listens on), with the control socket
// inherited as for every contender. Every client is a stub on the one
// gRPC connection go-plugin makes.
func startGoPlugin(ctx context.Context, clients int, profileDir string) (session, error) {
	ch, err := newChild("goplugin", 0, profileDir)
	if err != nil {
		return nil, err
	}
	ch.cmd.Stderr = nil // go-plugin reads the child's stderr itself
	pc := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  pluginHandshake,
		Plugins:          plugin.PluginSet{"bench": benchPlugin{}},
		Cmd:              ch.cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.NewNullLogger(),
		Stderr:           os.Stderr,
	})
	s := &pluginSession{baseSession: baseSession{ch: ch}, pc: pc}
	proto, err := pc.Client()
	ch.closeTheirs()
	if err != nil {
		_ = s.close()
		return nil, fmt.Errorf("bench: go-plugin: %w", err)
	}
	v, err := proto.Dispense("bench")
	if err != nil {
		_ = s.close()
		return nil, fmt.Errorf("bench: go-plugin: %w", err)
	}
	conn, ok := v.(*grpc.ClientConn)
	if !ok {
		_ = s.close()
		return nil, fmt.Errorf("bench: go-plugin dispensed a %T", v)
	}
	for range clients {
		s.clients = append(s.clients, &grpcClient{ctx: ctx, conn: conn})
	}
	return s, nil
}
