package images

import (
	"log/slog"

	"github.com/google/go-containerregistry/pkg/authn"
)

// BasicKeychain returns a keychain that answers registry host with a user
// name and password (for goldenpath's registry: any user name and a goldenpath
// token) and every other registry anonymously. Combine several with
// authn.NewMultiKeychain. It never prints the password.
func BasicKeychain(host, username, password string) authn.Keychain {
	return basicKeychain{host: host, username: username, password: password}
}

type basicKeychain struct {
	host, username, password string
}

func (k basicKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.host {
		return authn.Anonymous, nil
	}
	return &authn.Basic{Username: k.username, Password: k.password}, nil
}

func (k basicKeychain) String() string {
	return "basic credentials for " + k.host + " (user " + k.username + ", password redacted)"
}

func (k basicKeychain) GoString() string { return k.String() }

func (k basicKeychain) LogValue() slog.Value {
	return slog.GroupValue(slog.String("host", k.host), slog.String("username", k.username),
		slog.String("password", "[redacted]"))
}
