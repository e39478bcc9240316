package alertrulesexporter // import "github.com/otelcol-chroma/otelcol-chroma/exporter/alertrulesexporter"

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/notifier"
	"go.opentelemetry.io/collector/component"
)

// alertmanagerClient is the HTTP client and authentication of one
// Alertmanager, built from the collector's HTTP client settings.
type alertmanagerClient struct {
	client *http.Client
	auth   func(*http.Request)
}

// alertSender is Prometheus' notifier with the configured Alertmanagers as a
// static target set. Its requests go through the collector's HTTP clients.
type alertSender struct {
	manager *notifier.Manager
	clients map[string]alertmanagerClient // by the alerts URL the notifier posts to
	done    chan struct{}
}

func newAlertSender(ctx context.Context, cfg *Config, host component.Host, set component.TelemetrySettings, reg prometheus.Registerer, logger *slog.Logger) (*alertSender, error) {
	s := &alertSender{clients: map[string]alertmanagerClient{}, done: make(chan struct{})}
	amConfigs := make(promconfig.AlertmanagerConfigs, len(cfg.Alertmanagers))
	targets := map[string][]*targetgroup.Group{}
	for i := range cfg.Alertmanagers {
		am := &cfg.Alertmanagers[i]
		client, err := am.ToClient(ctx, host.GetExtensions(), set)
		if err != nil {
			return nil, fmt.Errorf("alertmanagers[%d] (%s): build the HTTP client: %w", i, am.Endpoint, err)
		}
		amc, group, postURL, err := notifierTarget(am)
		if err != nil {
			return nil, fmt.Errorf("alertmanagers[%d]: %w", i, err)
		}
		amConfigs[i] = amc
		// The notifier names its Alertmanager sets config-0, config-1, ...
		targets[fmt.Sprintf("config-%d", i)] = []*targetgroup.Group{group}
		s.clients[postURL] = alertmanagerClient{client: client, auth: am.authorize}
	}
	s.manager = notifier.NewManager(&notifier.Options{
		QueueCapacity: cfg.QueueCapacity,
		Registerer:    reg,
		Do:            s.do,
	}, model.UTF8Validation, logger)
	err := s.manager.ApplyConfig(&promconfig.Config{
		GlobalConfig:   promconfig.GlobalConfig{ExternalLabels: labels.FromMap(cfg.ExternalLabels)},
		AlertingConfig: promconfig.AlertingConfig{AlertmanagerConfigs: amConfigs},
	})
	if err != nil {
		return nil, fmt.Errorf("configure the alert notifier: %w", err)
	}
	tsets := make(chan map[string][]*targetgroup.Group, 1)
	tsets <- targets
	go func() {
		defer close(s.done)
		s.manager.Run(tsets)
	}()
	return s, nil
}

// notifierTarget turns an Alertmanager's endpoint into the notifier's
// configuration, its static target and the URL alerts are posted to.
func notifierTarget(am *AlertmanagerConfig) (*promconfig.AlertmanagerConfig, *targetgroup.Group, string, error) {
	u, err := url.Parse(am.Endpoint)
	if err != nil {
		return nil, nil, "", fmt.Errorf("endpoint %q: %w", am.Endpoint, err)
	}
	amc := promconfig.DefaultAlertmanagerConfig
	amc.Scheme = u.Scheme
	amc.PathPrefix = strings.TrimSuffix(u.Path, "/")
	if am.Timeout > 0 {
		amc.Timeout = model.Duration(am.Timeout)
	}
	group := &targetgroup.Group{
		Source:  am.Endpoint,
		Targets: []model.LabelSet{{model.AddressLabel: model.LabelValue(u.Host)}},
	}
	post := url.URL{Scheme: u.Scheme, Host: u.Host, Path: path.Join("/", amc.PathPrefix, "api/v2/alerts")}
	return &amc, group, post.String(), nil
}

// do sends the notifier's request with the collector's client of that
// Alertmanager (TLS, proxy, headers, timeouts) and its authentication.
func (s *alertSender) do(ctx context.Context, _ *http.Client, req *http.Request) (*http.Response, error) {
	amc, ok := s.clients[req.URL.String()]
	if !ok {
		return nil, fmt.Errorf("no configured Alertmanager posts to %s", req.URL.Redacted())
	}
	req = req.WithContext(ctx)
	amc.auth(req)
	return amc.client.Do(req)
}

func (am *AlertmanagerConfig) authorize(req *http.Request) {
	switch {
	case am.BasicAuth != nil:
		req.SetBasicAuth(am.BasicAuth.Username, string(am.BasicAuth.Password))
	case am.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+string(am.BearerToken))
	}
}

// stop stops the notifier and waits for its send loops to end.
func (s *alertSender) stop(ctx context.Context) error {
	s.manager.Stop()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop the alert notifier: %w", ctx.Err())
	}
}
