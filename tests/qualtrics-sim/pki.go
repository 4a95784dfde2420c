package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// authority is the simulator's certificate authority. It signs the HTTPS server certificate and
// every client certificate the simulator issues.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Qualtrics Simulator CA", Organization: []string{"qualtrics-sim"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	return &authority{cert: cert, key: key, certPEM: encodeCertificatePEM(der)}, nil
}

// serverCertificate issues the HTTPS server certificate for 127.0.0.1, ::1 and localhost.
func (a *authority) serverCertificate() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"qualtrics-sim"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key}, nil
}

// issueClientCertificate signs a client certificate for publicKey with the given raw subject,
// valid from notBefore to notAfter.
func (a *authority) issueClientCertificate(publicKey crypto.PublicKey, rawSubject []byte, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	keyUsage := x509.KeyUsageDigitalSignature
	if _, isRSA := publicKey.(*rsa.PublicKey); isRSA {
		keyUsage |= x509.KeyUsageKeyEncipherment
	}
	template := &x509.Certificate{
		SerialNumber: serial,
		RawSubject:   rawSubject,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     keyUsage,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, a.cert, publicKey, a.key)
	if err != nil {
		return nil, fmt.Errorf("sign client certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	// A zero serial is not allowed by RFC 5280.
	return serial.Add(serial, big.NewInt(1)), nil
}

func encodeCertificatePEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// publicKeyFingerprint returns the SHA-256 of the certificate's SubjectPublicKeyInfo DER as
// lowercase hex.
func publicKeyFingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// csrLabels are the PEM labels accepted for a certificate request. OpenSSL wrote the second one
// before version 1.0.
var csrLabels = []string{"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"}

// parseCertificateRequestPEM parses a PEM certificate request and verifies its signature.
//
// Unlike encoding/pem, it also accepts the form the Qualtrics API description recommends, with
// every line break removed ("-----BEGIN CERTIFICATE REQUEST-----MIIC...-----END ...-----").
// Line breaks, carriage returns, spaces and tabs inside the base64 body are ignored; anything
// else, such as a literal backslash left by escaping the newlines twice, makes it fail.
func parseCertificateRequestPEM(text string) (*x509.CertificateRequest, error) {
	text = strings.TrimSpace(text)
	var body string
	found := false
	for _, label := range csrLabels {
		begin := "-----BEGIN " + label + "-----"
		end := "-----END " + label + "-----"
		if strings.HasPrefix(text, begin) && strings.HasSuffix(text, end) && len(text) >= len(begin)+len(end) {
			body = text[len(begin) : len(text)-len(end)]
			found = true
			break
		}
	}
	if !found {
		return nil, errors.New("certificateRequest is not a PEM certificate request: it must start with -----BEGIN CERTIFICATE REQUEST----- and end with -----END CERTIFICATE REQUEST-----")
	}

	compact := strings.Map(func(r rune) rune {
		switch r {
		case '\n', '\r', ' ', '\t':
			return -1
		}
		return r
	}, body)
	der, err := base64.StdEncoding.DecodeString(compact)
	if err != nil {
		return nil, fmt.Errorf("certificateRequest body is not valid base64: %v", err)
	}
	if len(der) == 0 {
		return nil, errors.New("certificateRequest body is empty")
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("certificateRequest is not a valid PKCS #10 request: %v", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificateRequest signature is invalid: %v", err)
	}
	return csr, nil
}
