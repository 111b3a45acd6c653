// Package actors is the service's running part. Each folder directly below is one kind of actor
// with the pure rules it applies beside it (the actor routes messages, loads and saves, and sets
// timers; the rules are plain functions with table tests):
//
//	supervisor   the roster: which names have a certificate actor (Roster), and the restarts
//	discovery    DFP's service list, polled and notified (AfterPoll, Merge)
//	certificate  one per name: order, renew or wait (Decide, WindowOf, Adoptable)
//	ratelimiter  Let's Encrypt's limits as a persisted ledger, and the order slots (Limiter)
//	uploader     what DFP must be given and whether HAProxy serves it (Diff, Queue, ServeVerdict)
//	alerter      which alerts are active and when to tell the webhook (Active)
//	async        not an actor: how an actor runs blocking work off its mailbox
//
// What is not an actor lives in adapters: the store and its etcd KV, the ACME client (issuer), the
// free pre-flight checks and the Prometheus metrics. Adapters never import an actor; actors import
// adapters, proxyapi, webroot and messages; only cmd imports actors.
package actors
