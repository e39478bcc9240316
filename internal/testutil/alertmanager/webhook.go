package alertmanager

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Notification is what Alertmanager's webhook receiver posts.
type Notification struct {
	Receiver string              `json:"receiver"`
	Status   string              `json:"status"`
	Alerts   []NotificationAlert `json:"alerts"`
}

// NotificationAlert is one alert inside a Notification.
type NotificationAlert struct {
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// Webhook is an HTTP server on a loopback port that stands in for a pager or
// a chat: it records every notification Alertmanager sends to it.
type Webhook struct {
	URL string

	mu       sync.Mutex
	received []Notification
}

// NewWebhook starts a webhook receiver; t.Cleanup stops it.
func NewWebhook(t testing.TB) *Webhook {
	t.Helper()
	w := &Webhook{}
	srv := httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

func (w *Webhook) serve(rw http.ResponseWriter, r *http.Request) {
	var n Notification
	if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	w.received = append(w.received, n)
	w.mu.Unlock()
}

// Received returns the notifications received so far, oldest first.
func (w *Webhook) Received() []Notification {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Notification(nil), w.received...)
}
