package web

import (
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/followup/followup"
)

// tokenList is GET /api/v1/tokens's answer.
type tokenList struct {
	Tokens []followup.APIToken `json:"tokens"`
}

// listTokens answers the user's API tokens: id, name, created_at and
// last_used_at, never the tokens themselves.
func (s *Server) listTokens(c echo.Context) error {
	tokens, err := s.Service.APITokens(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, tokenList{Tokens: tokens})
}

// revokeToken deletes one of the user's tokens: 204, or 404 for an unknown
// id or another user's token.
func (s *Server) revokeToken(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return followup.Errorf(followup.ENOTFOUND, "", "Token not found.")
	}
	if err := s.Service.RevokeAPIToken(c.Request().Context(), userID(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
