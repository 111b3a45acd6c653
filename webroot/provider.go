package webroot

import "fmt"

// Provider is the lego challenge.Provider for HTTP-01 that publishes tokens to the responder.
type Provider struct {
	Answers Answers
}

// Present publishes the key authorisation for token.
func (p Provider) Present(domain, token, keyAuth string) error {
	if !ValidToken(token) {
		return fmt.Errorf("http-01 for %s: token %q is not base64url", domain, token)
	}
	if err := p.Answers.Publish(token, keyAuth); err != nil {
		return fmt.Errorf("http-01 for %s: publish the answer: %w", domain, err)
	}
	return nil
}

// CleanUp withdraws token once validation is over.
func (p Provider) CleanUp(_, token, _ string) error {
	p.Answers.Withdraw(token)
	return nil
}
