// Shared helpers for the configuration tests (not a test file itself).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The shared corpus sits beside the checkout (../shared); from a worktree it is further up. */
function findCorpus(): string {
  let dir = fileURLToPath(new URL('../../../', import.meta.url));
  for (;;) {
    const candidate = join(dir, '..', 'shared', 'corpus', 'keepalived-samples') + '/';
    if (existsSync(candidate) || dirname(dir) === dir) return candidate;
    dir = dirname(dir);
  }
}

export const CORPUS = findCorpus();

/** Fields that say where text was written (ast.ts): no part of what the text means. */
const WHERE = new Set(['pos', 'end', 'origin', 'open', 'close', 'substituted']);

/** Deep copy without `pos` (and the other source position) fields, for comparing models built from different texts. */
export function noPos(x: unknown): unknown {
  if (Buffer.isBuffer(x)) return x;
  if (Array.isArray(x)) return x.map(noPos);
  if (x !== null && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (!WHERE.has(k)) out[k] = noPos(v);
    return out;
  }
  return x;
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-config-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A minimal valid configuration body to build test cases on. */
export const MINIMAL = `vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 100
  virtual_ipaddress {
    192.0.2.10/24
  }
}
`;

/** A configuration using nearly every supported directive (writer round trip, directive tests). */
export const RICH = `! rich configuration
global_defs {
  router_id "board A"
  vrrp_version 3
  notification_email {
    ops@example.com
  }
  notification_email_from lb@example.com
  smtp_server 192.0.2.25 25
  smtp_connect_timeout 30
  vrrp_garp_master_delay 2
  vrrp_garp_master_repeat 3
  vrrp_garp_master_refresh 60
  vrrp_garp_master_refresh_repeat 2
  vrrp_garp_interval 0.001
  vrrp_skip_check_adv_addr
  vrrp_strict
  script_user nobody nogroup
  enable_script_security
  notify_fifo /run/tandem/events.fifo
  notify_fifo_script /usr/local/bin/read-events
  vrrp_notify_fifo /run/tandem/vrrp.fifo nobody nogroup
  vrrp_notify_fifo_script "/usr/local/bin/read-vrrp --log"
  lvs_notify_fifo /run/tandem/lvs.fifo
  lvs_notify_fifo_script /usr/local/bin/read-lvs
  vrrp_notify_priority_changes
  fifo_write_vrrp_states_on_reload
  vrrp_garp_lower_prio_delay 3
  vrrp_garp_lower_prio_repeat 2
  vrrp_lower_prio_no_advert false
  vrrp_higher_prio_send_advert
  vrrp_mcast_group4 224.0.0.19
  vrrp_gna_interval 0.002
  vrrp_min_garp
  dynamic_interfaces allow_if_changes
  vrrp_startup_delay 2.5
  vrrp_delay_after_boot 30
  umask 022
}
vrrp_script chk_nginx {
  script "/usr/bin/pgrep -x 'nginx master'"
  interval 2
  timeout 1.5
  weight -20 reverse
  rise 2
  fall 3
  user www www
  init_fail
}
vrrp_script chk_plain {
  script /bin/true
}
track_file tf_prio {
  file /run/tandem/prio
  weight -2 reverse
  init_file 5 overwrite
}
vrrp_track_file tf_old {
  file /run/tandem/old
}
vrrp_track_process tp_haproxy {
  process haproxy -f /etc/haproxy.cfg
  param_match partial
  weight 10
  quorum 2
  quorum_max 4
  delay 1.5
  full_command
}
vrrp_sync_group G1 {
  group {
    PUBLIC
    PRIVATE
  }
  track_interface {
    eth0 weight 5
  }
  track_script {
    chk_plain
  }
  track_file {
    tf_old
  }
  notify_priority_changes
  notify_master "/etc/tandem/notify.sh MASTER"
  notify_backup /etc/tandem/notify.sh BACKUP
  notify_fault /etc/tandem/notify.sh FAULT
  notify_stop /etc/tandem/notify.sh STOP
  notify /etc/tandem/notify.sh
}
vrrp_instance PUBLIC {
  state MASTER
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 0.5
  nopreempt
  preempt_delay 5
  accept
  dont_track_primary
  smtp_alert
  unicast_src_ip 192.0.2.1
  unicast_peer {
    192.0.2.2
  }
  virtual_ipaddress {
    192.0.2.100/24 dev eth0 label eth0:vip brd 192.0.2.255 scope global
    192.0.2.101
  }
  virtual_ipaddress_excluded {
    192.0.2.200/32
  }
  track_interface {
    eth1
    eth2 weight -10
  }
  track_script {
    chk_nginx weight 10
    chk_plain
  }
  track_file {
    tf_prio weight 3 noreverse
  }
  track_process {
    tp_haproxy
  }
  notify_master_rx_lower_pri /etc/tandem/reclaim.sh
  notify_priority_changes false
  garp_lower_prio_delay 2
  garp_lower_prio_repeat 1
  lower_prio_no_advert
  higher_prio_send_advert false
  garp_master_delay 1
  garp_master_repeat 2
  garp_master_refresh 30
  garp_master_refresh_repeat 3
  notify "/etc/tandem/n.sh"
  notify_master /etc/tandem/n.sh master
  notify_backup /etc/tandem/n.sh backup
  notify_fault /etc/tandem/n.sh fault
  notify_stop /etc/tandem/n.sh stop
}
vrrp_instance PRIVATE {
  interface eth1
  virtual_router_id 52
  version 2
  advert_int 1
  authentication {
    auth_type PASS
    auth_pass s3cret
  }
  virtual_ipaddress {
    198.51.100.1/24
  }
}
virtual_server 192.0.2.100 80 {
  delay_loop 6
  lb_algo mh
  lb_kind NAT
  persistence_timeout 300
  persistence_granularity 255.255.255.0
  protocol TCP
  quorum 2
  hysteresis 1
  quorum_up "/bin/logger quorum up"
  quorum_down /bin/logger down
  sorry_server 198.51.100.250 8080
  sorry_server_inhibit
  alpha
  omega
  inhibit_on_failure
  ha_suspend
  virtualhost www.example.com
  forwarder nftables
  real_server 198.51.100.10 8080 {
    weight 3
    notify_up "/bin/logger up"
    notify_down /bin/logger down
    TCP_CHECK {
      connect_timeout 3
      connect_port 8081
      connect_ip 198.51.100.11
      bindto 198.51.100.1
      retry 3
      delay_before_retry 2
      delay_loop 4
      warmup 1
    }
    HTTP_GET {
      url {
        path /health
        digest 640205B7B0FC66C1EA91C463FAC6334D
        status_code 200-299 301 503
        virtualhost h.example.com
      }
      url {
        path "/a!b"
      }
      nb_get_retry 2
      virtualhost www.example.com
      http_protocol 1.1
    }
  }
  real_server 198.51.100.12 8080 {
    weight 0
    inhibit_on_failure false
    SSL_GET {
      url {
        path /
      }
      enable_sni
    }
    MISC_CHECK {
      misc_path "/usr/local/bin/check.sh --host 198.51.100.12"
      misc_timeout 7
      misc_dynamic
      user nobody
      retry 2
      delay_before_retry 3
      delay_loop 10
      warmup 5
    }
  }
}
virtual_server 192.0.2.100 53 {
  protocol UDP
  lb_algo wlc
  forwarder userspace
  real_server 198.51.100.20 53 {
    UDP_CHECK {
      payload 0a0b0c
      require_reply ffee
    }
    UDP_CHECK {
      require_reply
    }
  }
  real_server 198.51.100.21 {
  }
}
mqtt {
  url mqtts://broker.example.com:8883
  prefix fleet
  node lb-a
  username tandem
  password_file /etc/tandem/mqtt.pass
  ca_file /etc/tandem/ca.pem
  cert_file /etc/tandem/cert.pem
  key_file /etc/tandem/key.pem
  keepalive 15
  health_interval 5
  protocol_version 4
  offline_queue 200
  homeassistant on
  homeassistant_prefix ha
}
metrics {
  listen 192.0.2.1:9650
  listen [2001:db8::1]:9650
  allow 192.0.2.0/24 2001:db8::/32
}
serial_console {
  device /dev/ttyS1
  baud 57600
  idle_timeout 300
  enabled false
}
notify_programs {
  timeout 20
}
`;
