package webhook

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/seamhq/seam"
)

// DefaultMaxBody is the body limit when a flow sets none.
const DefaultMaxBody = 1 << 20

const tooLargeHint = "send smaller records, or raise max_body on the flow"

// ReadBody reads the whole request body, refusing more than max bytes (0 or
// less means DefaultMaxBody) with ETOOLARGE. A declared Content-Length over
// the limit is refused before reading anything, so a sender announcing
// gigabytes costs nothing; a body without one is read up to max+1 bytes and
// no further.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if max <= 0 {
		max = DefaultMaxBody
	}
	if r.Body == nil || r.Body == http.NoBody {
		return []byte{}, nil
	}
	if r.ContentLength > max {
		return nil, &seam.Error{
			Code:    seam.ETOOLARGE,
			Message: fmt.Sprintf("body is %d bytes; the limit is %d (max_body on the flow)", r.ContentLength, max),
			Hint:    tooLargeHint,
		}
	}
	// Size the buffer from Content-Length when it is trustworthy (already
	// checked against max) to read without regrowing.
	size := int64(512)
	if r.ContentLength > 0 {
		size = r.ContentLength + 1
	}
	buf := make([]byte, 0, size)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		want := min(int64(cap(buf)), max+1)
		n, err := r.Body.Read(buf[len(buf):want])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > max {
			return nil, &seam.Error{
				Code:    seam.ETOOLARGE,
				Message: fmt.Sprintf("body is over %d bytes, the limit (max_body on the flow)", max),
				Hint:    tooLargeHint,
			}
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, &seam.Error{
					Code:    seam.ETOOLARGE,
					Message: fmt.Sprintf("body is over %d bytes, the limit", mbe.Limit),
					Hint:    tooLargeHint,
					Err:     err,
				}
			}
			// The sender hung up or sent less than it announced; the
			// message is for the sender's logs if it is still there.
			return nil, &seam.Error{
				Code:    seam.EINVALID,
				Message: fmt.Sprintf("reading the body failed after %d bytes: %v", len(buf), err),
				Hint:    "send the complete body with a correct Content-Length",
				Err:     err,
			}
		}
	}
}
