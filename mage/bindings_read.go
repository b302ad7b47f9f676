package mage

import (
	"errors"
	"fmt"
)

// readUntil hands each message of p to handle, in order, until quit is
// closed (it returns stopped), the pipe ends or is invalid (an error
// matching ErrDisconnected and wrapping why) or handle fails (handle's
// error). It is the loop of both a Receiver and a Remote's reply reader.
func readUntil(p MessagePipe, quit <-chan struct{}, stopped error, handle func(*Message) error) error {
	if !p.IsValid() {
		// No pipe (a zero MessagePipe, or a pending end that travelled as
		// "no pipe"): nothing will ever arrive, so it is disconnected from
		// the start rather than waited on forever.
		return fmt.Errorf("%w: %w", ErrDisconnected, ErrInvalidPipe)
	}
	for {
		select {
		case <-quit:
			return stopped
		case <-p.Ready():
		}
		for {
			select {
			case <-quit:
				return stopped
			default:
			}
			m, err := p.ReadMessage()
			if errors.Is(err, ErrNoMessage) {
				break
			}
			if err != nil {
				return fmt.Errorf("%w: %w", ErrDisconnected, err)
			}
			if err := handle(m); err != nil {
				return err
			}
		}
	}
}
