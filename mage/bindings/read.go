package bindings

import (
	"errors"
	"fmt"

	"github.com/mage-ipc/mage/mage"
)

// readUntil hands each message of p to handle, in order, until quit is
// closed (it returns stopped), the pipe ends or is invalid (an error
// matching ErrDisconnected and wrapping why) or handle fails (handle's
// error). It is the loop of both a Receiver and a Remote's reply reader.
func readUntil(p mage.MessagePipe, quit <-chan struct{}, stopped error, handle func(*mage.Message) error) error {
	if !p.IsValid() {
		// No pipe (a zero MessagePipe, or a pending end that travelled as
		// "no pipe"): nothing will ever arrive, so it is disconnected from
		// the start rather than waited on forever.
		return fmt.Errorf("%w: %w", ErrDisconnected, mage.ErrInvalidPipe)
	}
	for {
		// Read before waiting: an end handed over by Unbind may hold
		// messages whose signal its last reader already took.
		for {
			select {
			case <-quit:
				return stopped
			default:
			}
			m, err := p.ReadMessage()
			if errors.Is(err, mage.ErrNoMessage) {
				break
			}
			if err != nil {
				return fmt.Errorf("%w: %w", ErrDisconnected, err)
			}
			if err := handle(m); err != nil {
				return err
			}
		}
		select {
		case <-quit:
			return stopped
		case <-p.Ready():
		}
	}
}
