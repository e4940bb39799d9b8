package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// codes maps application error codes to HTTP statuses; the only such map.
var codes = map[string]int{
	followup.EINVALID:      http.StatusBadRequest,
	followup.EUNAUTHORIZED: http.StatusUnauthorized,
	followup.ENOTFOUND:     http.StatusNotFound,
	followup.ECONFLICT:     http.StatusConflict,
	followup.ETOOLARGE:     http.StatusRequestEntityTooLarge,
	followup.EREMOTE:       http.StatusUnprocessableEntity,
	followup.ERATELIMIT:    http.StatusTooManyRequests,
	followup.EINTERNAL:     http.StatusInternalServerError,
	followup.EUNAVAILABLE:  http.StatusServiceUnavailable,
	errForbidden:           http.StatusForbidden,
}

// echoCodes names Echo's own errors (routing, body limit) in our terms.
var echoCodes = map[int]string{
	http.StatusBadRequest:            followup.EINVALID,
	http.StatusUnauthorized:          followup.EUNAUTHORIZED,
	http.StatusNotFound:              followup.ENOTFOUND,
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusRequestEntityTooLarge: followup.ETOOLARGE,
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusTooManyRequests:       followup.ERATELIMIT,
	http.StatusServiceUnavailable:    followup.EUNAVAILABLE,
}

// errorBody is the contract's error JSON.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// handleError is the Echo error handler: it writes the error JSON with the
// status its code maps to, and logs only internal errors.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The client went away; nobody reads an answer. 499 as nginx logs it.
		c.Response().WriteHeader(499)
		return
	}
	status, body := http.StatusInternalServerError, errorDetail{}
	var he *echo.HTTPError
	if errors.As(err, &he) && followup.ErrorCode(err) == followup.EINTERNAL {
		status = he.Code
		body.Code = echoCodes[he.Code]
		if body.Code == "" {
			body.Code = followup.EINVALID
			if status >= 500 {
				body.Code = followup.EINTERNAL
			}
		}
		body.Message = http.StatusText(he.Code) + "."
		if status == http.StatusRequestEntityTooLarge {
			body.Message = "The request body is larger than 1 MiB."
		}
		if status == http.StatusNotFound {
			body.Message = "Not found."
		}
	} else {
		body.Code = followup.ErrorCode(err)
		body.Message = followup.ErrorMessage(err)
		body.Field = followup.ErrorField(err)
		status = codes[body.Code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
	}
	if status >= 500 {
		s.Log.ErrorContext(c.Request().Context(), "internal error", "error", err.Error())
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="followup"`)
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	if isPage(c.Request().URL.Path) {
		s.errorPage(c, status, body.Message)
		return
	}
	_ = c.JSON(status, errorBody{Error: body})
}

// errorPage answers a web page's error as HTML.
func (s *Server) errorPage(c echo.Context, status int, message string) {
	c.Response().Header().Del("WWW-Authenticate")
	err := s.render(c, status, "error", view{Title: http.StatusText(status), Error: message, Data: status})
	if err != nil {
		s.Log.ErrorContext(c.Request().Context(), "error page", "error", err.Error())
		_ = c.String(status, message)
	}
}
