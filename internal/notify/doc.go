/*
Copyright 2026 The heal8s Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package notify turns Remediation phase changes into chat and webhook messages: which events a
// Notifier hears (events.go), what each provider's message looks like (slack.go, teams.go,
// generic.go), deduplication and rate limiting (outbox.go) and delivery off the engine's path
// (dispatcher.go), to addresses the platform allows (address.go). Everything but the dispatcher
// is pure and tested with table tests; the notifier controller in internal/controller feeds it.
// docs/notifications.md is the user's view of it.
package notify
