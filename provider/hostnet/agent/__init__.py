"""The hostnet agent: runs on a host, changes its network on request.

It is shipped to a host as a zip (this package, imported there as
``hostnet_agent``, plus pyroute2) and needs Python >= 3.6, the stdlib and
pyroute2 (0.9.7 from Python 3.9, 0.8.1 before; hostnet.payload picks). The
sources stay in modern style: for 3.6 the payload turns their annotations into
strings and adds the dataclasses backport, so nothing here may need 3.7+ at run
time (no ``capture_output``, no subscripted ``collections.abc`` outside
TYPE_CHECKING, no walrus or positional-only parameters); the unit tests import
the payload under every Python from 3.6. Kernel and userland differences are
detected at start (hostcaps, iptsave). ``python -m hostnet.agent`` serves on
stdin/stdout locally.

Protocol (JSON, one object per line)
====================================
Start: one line ``{"ready": true, "agent": VERSION, "python": "3.11.2", "pid": N,
"hostname": ..., "kernel": <uname -r>, "iptables": "nft"|"legacy"|null,
"pyroute2": "0.9.7", "run_dir": "/run/hostnet", "netlink": {"ext_ack": bool,
"strict_check": bool}, "iptables_restore_wait": bool, "management": {"peer", "local",
"port", "dev", "via"?, "src"}|null, "guards": [GUARD]}``: what the kernel and
iptables-restore were found to take; ``management`` is the SSH connection the agent
came over (SSH_CONNECTION) and the route back to the peer; ``guards`` lists the
guards of this namespace found at start (guard.py): one whose process died gets a
new one (reverting at once if its deadline passed).

Request: ``{"id": INT, "ops": [{"op": NAME, "args": {...}}, ...], "timeout": SECONDS}``
(timeout optional, default 60). Ops of a batch run in order and stop at the
first failure. A batch whose op names or argument names are wrong anywhere
fails before any op runs. Absent and null arguments are the same thing.

Reply: ``{"id": INT, "ok": true, "results": [r0, ...], "t": SECONDS_ON_HOST}`` or
``{"id": INT, "ok": false, "results": [results of the ops that succeeded],
"error": {"index": K, "op": NAME, "type": TYPE, "message": ONE_LINE, "errno": INT|null}}``.
A line that is not a request gets ``{"id": null, "ok": false, "results": [],
"error": {"index": null, "op": null, "type": "Invalid", ...}}``.
TYPE: Invalid (bad arguments), NotFound, Exists (exists as something that
cannot be reconciled), NotOwned (exists without hostnet's mark), Timeout,
Busy (host lock not obtained in time), Failed (anything else; errno and the
host's or tool's words).

Read-only requests run concurrently (4 threads); requests with a mutating op
run one at a time, in arrival order, on one writer thread, and a request's
time limit counts from its arrival. Requests of one link_delete each that
wait in line one after another run as one, each still answered alone: the
links of a namespace go as one group (writer.py, linkdel.py). Replies come
in completion order. A batch with a mutating op holds the host lock
(in-process lock plus flock on <run_dir>/lock, run_dir = $HOSTNET_RUN_DIR or
/run/hostnet) for its whole run; read-only batches take no lock. The timeout
is checked before each op and bounds every subprocess; a netlink request
already sent cannot be interrupted, so an op may finish after the deadline
(the reply is still ok if it was the last op). $HOSTNET_IPTABLES=nft|legacy
overrides the detected iptables variant.
EOF on stdin ends the agent after the requests in flight are answered.

Namespace references (``netns``, ``peer_netns``, ``ref``)
==========================================================
null: the agent's own; "NAME": /run/netns/NAME; "pid:N"; "/abs/path"
(/proc/N/ns/net, a bind mount); "container:NAME": docker (else podman)
inspect, resolved when the request runs. A missing namespace is never created.
In a missing namespace read ops return null, delete ops succeed with
deleted/changed false, and other ops fail NotFound.

Ownership (owner.py): a mark "hostnet:<project>/<stack>/<resource>#<token>" names
the resource instance that owns an object: a link's alias, the alias of a named
namespace's lo, an iptables rule's ``-m comment --comment``, the record of a route
(which also carries protocol 77) or of a sysctl. hostnet's own chains are HOSTNET*.
OWN = owner ({stack, resource, token}, or a plain mark text), legacy? (a plain
id also taken as this owner's: marks written before instance ownership), adopt?
(false). An ensure takes an object marked by this owner, its legacy id or
another instance of the same stack (rewriting the mark), anything with adopt;
otherwise NotOwned naming the owner. A delete removes only this owner's (or the
legacy id's) object; otherwise it answers deleted false and "kept": whose it is.
OWNER (what read ops report) = {stack, resource, token} | {id} | null (not hostnet's).

Ops: args -> result
===================
ping {} -> {"pong": true}
info {} -> the ready line's fields without "ready" and "guards"

LINK = {ifindex, ifname, kind ("bridge"|"veth"|"vxlan"|another rtnl kind such as
"dummy"|"device" for NICs and lo), mac, mtu, up (admin), operstate, master
(ifname|null), alias|null, promisc, addresses [canonical cidr, global+site scope],
peer_ifindex (veth, else null), vxlan {id, local, remote, group, port, dev, ttl,
learning} (vxlan only)}

link_read {netns, ifname} -> LINK|null
link_list {netns} -> [LINK]
link_ensure_bridge {netns, ifname, OWN, mtu?, mac?} -> LINK
link_ensure_veth {netns, ifname, peer_ifname, peer_netns, OWN, mtu?, master?, up?}
    -> {"link": LINK, "peer": LINK}   (master: ifname of a bridge for this end;
    up: both ends; the peer is created inside peer_netns; a fresh pair reports
    the operstate of the moment it was made)
link_ensure_vxlan {netns, ifname, OWN, vni, local?, remote?, group?, dev?,
    dstport? (4789), ttl?, learning?, mtu?} -> LINK   (another vni/local/remote/group/
    port/dev, or a ttl/learning given and different: Exists)
link_set {netns, ifname, OWN?, up?, mtu?, promisc?, master?, mac?, alias?} -> LINK
    (master "" or null: no master; without owner only up/promisc/master)
link_delete {netns, ifname, OWN} -> {"deleted": bool, "kept"?: str}
  ensure_*: an existing link of another kind -> Exists; one the claim may not take
  -> NotOwned. LINK's alias is the mark; "owner": OWNER.

FDB = {mac, dst, permanent}: an entry of a vxlan device sending frames for mac to
the VTEP dst; mac 00:00:00:00:00:00 floods (as `bridge fdb append`). Entries have
no mark: the device's covers them (they die with it).
fdb_list {netns, ifname} -> {"owner": OWNER, "entries": [FDB]}|null   (entries with a dst)
fdb_ensure {netns, ifname, OWN, dst, mac? (all-zero)} -> {"changed": bool}
    (the device must be this owner's: NotOwned otherwise)
fdb_delete {netns, ifname, OWN, dst, mac? (all-zero), learned? (false: also the
    MACs learned behind dst)} -> {"deleted": bool, "kept"?: str}

addr_ensure {netns, ifname, address} -> {"changed": bool}
addr_delete {netns, ifname, address} -> {"changed": bool}
addr_list {netns, ifname?} -> [{"ifname", "address"}]   (global+site scope)
addr_replace {netns, ifname, addresses, keep?} -> {"added": [...], "removed": [...]}

ROUTE = {dst ("default"|cidr), family (4|6), via, dev, src, metric, table, proto,
scope ("global"|"site"|"link"|"host"|"nowhere"), type ("unicast", ...), onlink,
owner: OWNER (route_ensure/route_read only)}
route_ensure {netns, dst, OWN, family?, via?, dev?, src?, metric?, table? (254), scope?,
    onlink?} -> ROUTE   (identity: family, dst, table, metric; metric default 0
    for IPv4, 1024 for IPv6; family of "default" from via/src, else 4)
route_read {netns, dst, family?, table?, metric?} -> ROUTE|null
route_get {netns, dst (an address)} -> ROUTE|null   (the entry the kernel would use;
    one lookup, not a dump)
route_list {netns, table? (254; 0 = all but local)} -> [ROUTE]   (all protocols)
route_delete {netns, dst, OWN, family?, table?, metric?} -> {"deleted": bool, "kept"?: str}

RULE = {priority, family (4|6), src, dst (cidr|null: ``ip rule`` from, to), iif, oif,
fwmark, fwmask, tos, action ("table"|"unreachable"|"prohibit"|"blackhole"), table
(action "table" only), protocol, owner: OWNER (rule_ensure/rule_read only)}   (rules.py)
rule_ensure {netns, priority (1-32765 but 0, 32766, 32767), family?, src?, dst?, iif?,
    oif?, fwmark?, fwmask?, tos?, action? ("table"), table?, OWN}
    -> RULE + {"created": bool}   (identity: family and priority; family from src/dst,
    else 4; the owner lives in a record; a kernel without a rule protocol (before
    4.17) takes only priorities 1000-1999; the same rule there, not hostnet's: Exists)
rule_read {netns, priority, family? (4)} -> RULE|null   (hostnet's rule at that priority)
rule_list {netns} -> [RULE]   (every rule of both families, any protocol; no owner)
rule_delete {netns, priority, family? (4), OWN} -> {"deleted": bool, "kept"?: str}

netns_ensure {name, OWN} -> {"created": bool}
netns_delete {name, OWN} -> {"deleted": bool, "kept"?: str}
netns_read {name} -> {"name", "owner": OWNER}|null   (one namespace, cheaper than a list)
netns_list {} -> [{"name", "owner": OWNER}]
netns_resolve {ref} -> {"path"|null, "exists": bool, "inode"|null}

sysctl_read {netns, key} -> str|null
sysctl_read_owned {netns, key} -> {"value": str, "owner": OWNER}|null   (owner of its record)
sysctl_write {netns, key, value, OWN, record? (true)} -> {"previous": str}   (the value
    found by the first owner's write, kept in <run_dir>/sysctl/<netns>@<inode>/<key>
    with the owner, claimed as links are; value: string or integer; record false:
    a namespace hostnet owns, nothing kept)
sysctl_restore {netns, key, OWN} -> {"restored": str|null, "kept"?: str}

ipt_ensure_chain {netns, table, chain (HOSTNET*), parent, position? (1)}
    -> {"created": bool, "changed": bool}
    (one jump from parent; a jump behind an unconditional REJECT or DROP is moved
    to position)
ipt_delete_chain {netns, table, chain, parent} -> {"deleted": bool, "remaining"?: int}
    (left while rules remain)
ipt_read_chain {netns, table, chain, parent}
    -> {"exists": bool, "jump": position|null, "jumps": int, "shadowed": bool}|null
ipt_ensure_rule {netns, table, chain, rule [tokens], OWN, position?, priority?}
    -> {"changed": bool, "created": bool}
    (tokens: no commands (-A -I -D -R -F -X -N -P -Z -E -L -S -C -t), no --comment,
    no quotes, backslashes or newlines; position places a new rule, priority keeps
    rules in priority order (the comment carries " prio=N"); a rule of this owner,
    or of another instance of the same resource, with another spec is replaced
    where it stands)
ipt_delete_rule {netns, table, chain, OWN} -> {"deleted": bool}   (this instance's only)
ipt_read_rules {netns, table, chain?} -> [{"table", "chain", "rule", "owner": OWNER,
    "position"}]|null
    (rule: tokens as iptables-save prints them, comment removed)

port_attach {netns, ifname, master, OWN} -> LINK   (ifname, a NIC or any link, becomes
    an up port of master, a bridge that must be this owner's; its up, promisc and mtu
    are recorded first (ports.py); a port of another master: Exists)
port_release {netns, ifname, master, OWN} -> {"released": bool, "restored"?: {up, promisc,
    mtu, owner}|null, "kept"?: str}   (out of master, its recorded state restored: a NIC
    that was down comes back down; master now another owner's: left, "kept" says whose)

uplink_takeover {netns, bridge, nic, OWN} -> {"changed": bool, "addresses", "routes"}
    (the NIC's addresses, routes and MAC move onto the bridge, which must be this
    owner's, and the NIC becomes its port, in one request)
uplink_release {netns, bridge, nic, OWN, keep_bridge? (false)}
    -> {"deleted": bool, "addresses", "routes", "nic": LINK, "kept"?: str}

GUARD = {key, state ("armed"|"disarmed"|"reverted"), reason, what [what the revert
restores], deadline_in (s, negative once passed), failed [revert steps that failed]}
guard_arm {key, timeout (s), touches [{what: "link", ifname} | {what: "route", dst,
    table} | {what: "rules", table, chain, parent} | {what: "sysctl", key}], reason?}
    -> {key, what, deadline_in}   (host namespace only; saves the pre-image of what
    is touched in <run_dir>/guards/<key>.json and starts a detached process that
    reverts it at the deadline; a live guard for the key: Exists)
guard_disarm {key} -> GUARD | {key, state: null}   (stops the guard; "reverted" if
    it had reverted already, with what; the record is removed either way)
guard_list {} -> [GUARD]   (what the ready line lists, now; resolves as at start)

dump {netns} -> {"links", "routes" (all tables but local), "netns" (own namespace
    only), "rules" {table: [iptables-save lines without counters]}, "sysctl" {key: value}}
dump_all {} -> {"host": dump, "netns": {name: dump}}
snapshot {netns, parts? (["net", "extra"])} -> {"net"?: {"links": [LINK], "routes":
    [ROUTE with owner] (all tables but local), "ip_rules": [RULE with owner, ours],
    "fdb": {ifname: [FDB]} (vxlan links)}, "extra"?: {"iptables": {table: {"chains",
    "rules": [{chain, tokens, rule, owner, position}]}}|null, "sysctl": {key: value},
    "sysctl_owners": {key: OWNER}, "netns": [{name, owner}]|null (own namespace
    only)}}|null   (what the read ops answer from, select.py: the controller serves a
    refresh's reads from one snapshot per namespace; null: the namespace is gone)
reads {ops: [{op, args}] (read ops only)} -> [{"ok": true, "result": ...} | {"ok":
    false, "error": ERROR}]   (each op's answer as its own request would give it; a
    change's read-back rides in the change's batch: no round trip, no new socket)
probe {netns, kind ("ping"|"tcp"), address, port?, timeout? (2), size? (ping: payload
    bytes, sent with don't-fragment: a frame of size + 28 passes whole or not at all)}
    -> {"ok": bool, "detail": str, "banner": str|null}
"""

AGENT_VERSION = "0.1.0"
