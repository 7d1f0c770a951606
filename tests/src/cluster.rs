//! Starting and stopping a local control plane.

use crate::{
    assets::{self, Assets},
    pki::{self, Ca},
    ports::{free_port, free_ports},
    process::{self, Proc},
    say,
};
use anyhow::{Context, Result, bail};
use base64::{Engine, engine::general_purpose::STANDARD as B64};
use serde::{Deserialize, Serialize};
use std::{
    io::{Read, Write},
    net::{IpAddr, Ipv4Addr, TcpStream},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// How to start a control plane.
#[derive(Debug, Clone)]
pub struct Options {
    /// Directory for certificates, kubeconfig and logs.
    pub state_dir: PathBuf,
    /// Install the CRDs once ready.
    pub install_crds: bool,
    /// The CRD directory to install ([`crate::crds::dir`]: `$VMIMAGE_CRDS` or
    /// `manifests/crds`); vmimage's own CRDs are added when it lacks them.
    pub crds: PathBuf,
    /// Remove `state_dir` when the control plane is dropped (tests); `up` keeps it.
    pub remove_state_dir: bool,
    /// Extra kube-apiserver flags (e.g. `--watch-cache=false` for the fault tests).
    pub apiserver_args: Vec<String>,
    /// Serve nodes and pods (`make node-up`): listen and advertise on this host address
    /// instead of 127.0.0.1, so pods reach the apiserver through the `kubernetes` Service.
    pub node_address: Option<Ipv4Addr>,
}

/// The Service range of a control plane with nodes, inside 198.18.0.0/15 like the pod
/// range (hack/node.sh): never a private range another network may use.
pub const NODE_SERVICE_CIDR: &str = "198.19.0.0/24";
/// The `kubernetes` Service's ClusterIP in [`NODE_SERVICE_CIDR`] (its first address).
pub const NODE_KUBERNETES_SERVICE_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);

impl Options {
    /// A fresh temporary state directory, CRDs installed.
    pub fn temp() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("vmimage-cp-{}", uuid::Uuid::new_v4().simple()));
        Ok(Self {
            state_dir: dir,
            install_crds: true,
            crds: crate::crds::dir(),
            remove_state_dir: true,
            apiserver_args: Vec::new(),
            node_address: None,
        })
    }
}

/// What `vmimage-testenv up` records so `down` (and a second `up`) can find the processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    /// Process group of etcd.
    pub etcd_pid: u32,
    /// Process group of kube-apiserver.
    pub apiserver_pid: u32,
    /// Other processes started alongside (webhook, publisher): name → process group.
    #[serde(default)]
    pub extra: Vec<(String, u32)>,
    /// etcd's data directory (tmpfs).
    pub etcd_data: PathBuf,
    /// https://127.0.0.1:<port>
    pub server: String,
}

/// A running control plane. Dropping it stops both processes and removes etcd's data.
pub struct ControlPlane {
    /// Binaries in use.
    pub assets: Assets,
    /// State directory (certs, kubeconfig, logs).
    pub dir: PathBuf,
    /// Admin kubeconfig path.
    pub kubeconfig: PathBuf,
    /// The apiserver URL.
    pub server: String,
    /// The CA that signed everything (also used for the webhook's serving cert).
    pub ca: Ca,
    etcd: Option<Proc>,
    apiserver: Option<Proc>,
    etcd_data: PathBuf,
    remove_state_dir: bool,
    /// How etcd and the apiserver were started, to start them again.
    etcd_args: Vec<String>,
    etcd_port: u16,
    apiserver_args: Vec<String>,
}

/// A second kube-apiserver on the same etcd (an HA control plane's other member).
/// Dropping it stops the process.
pub struct PeerApiserver {
    /// Its URL.
    pub server: String,
    /// An admin kubeconfig pointing at it.
    pub kubeconfig: PathBuf,
    proc: Proc,
}

impl Drop for PeerApiserver {
    fn drop(&mut self) {
        self.proc.stop(Duration::from_secs(10));
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

impl ControlPlane {
    /// Starts etcd and kube-apiserver, waits until ready, writes the kubeconfig and (by
    /// default) installs the CRDs.
    pub async fn start(opts: Options) -> Result<Self> {
        let assets = tokio::task::spawn_blocking(assets::ensure).await??;
        std::fs::create_dir_all(&opts.state_dir)
            .with_context(|| format!("creating {}", opts.state_dir.display()))?;
        // Absolute, so the processes and the kubeconfig do not depend on the caller's cwd.
        let dir = std::fs::canonicalize(&opts.state_dir)?;
        let started = Instant::now();

        let ca = Ca::new("vmimage-local-ca")?;
        let mut ips = Vec::new();
        if let Some(addr) = opts.node_address {
            ips.extend([IpAddr::V4(addr), IpAddr::V4(NODE_KUBERNETES_SERVICE_IP)]);
        }
        let serving = ca.serving_with_ips(
            "kube-apiserver",
            &[
                "kubernetes",
                "kubernetes.default",
                "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local",
            ],
            &ips,
        )?;
        let admin = ca.client("vmimage-admin", &["system:masters"])?;
        write(&dir.join("ca.crt"), &ca.pair.cert_pem)?;
        write(&dir.join("ca.key"), &ca.pair.key_pem)?;
        write(&dir.join("apiserver.crt"), &serving.cert_pem)?;
        write(&dir.join("apiserver.key"), &serving.key_pem)?;
        let (sa_key, sa_pub) = pki::service_account_key()?;
        write(&dir.join("sa.key"), &sa_key)?;
        write(&dir.join("sa.pub"), &sa_pub)?;

        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() {
            shm.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let etcd_data = base.join(format!("vmimage-etcd-{}", uuid::Uuid::new_v4().simple()));
        let [client_port, peer_port, api_port] = free_ports()?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let etcd_args: Vec<String> = vec![
            format!("--data-dir={}", etcd_data.display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=default={peer_url}"),
            "--name=default".into(),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ];
        let mut etcd = Proc::spawn("etcd", &assets.etcd, &etcd_args, &dir.join("etcd.log"))?;
        wait_for(&mut etcd, Duration::from_secs(30), || {
            http_get_ok(client_port, "/health")
        })?;

        let host = opts.node_address.unwrap_or(Ipv4Addr::LOCALHOST);
        let server = format!("https://{host}:{api_port}");
        let mut extra = match opts.node_address {
            Some(addr) => node_apiserver_args(&dir, addr),
            None => local_apiserver_args(),
        };
        extra.extend(opts.apiserver_args.iter().cloned());
        let api_args = apiserver_args(&dir, &client_url, &server, &extra);
        let mut apiserver = Proc::spawn(
            "kube-apiserver",
            &assets.kube_apiserver,
            &with_port(&api_args, api_port),
            &dir.join("kube-apiserver.log"),
        )?;

        let kubeconfig = dir.join("kubeconfig");
        write(
            &kubeconfig,
            &kubeconfig_yaml(&server, &ca.pair.cert_pem, &admin.cert_pem, &admin.key_pem),
        )?;
        write(&dir.join("admin.crt"), &admin.cert_pem)?;
        write(&dir.join("admin.key"), &admin.key_pem)?;

        let mut cp = Self {
            assets,
            dir,
            kubeconfig,
            server,
            ca,
            etcd: Some(etcd),
            apiserver: None,
            etcd_data,
            remove_state_dir: opts.remove_state_dir,
            etcd_args,
            etcd_port: client_port,
            apiserver_args: api_args,
        };
        let client = cp.client().await?;
        wait_apiserver(&mut apiserver, &client).await?;
        cp.apiserver = Some(apiserver);
        say(format!(
            "control plane ready at {} in {:.1} s",
            cp.server,
            started.elapsed().as_secs_f64()
        ));
        if opts.install_crds {
            crate::crds::install(&client, &opts.crds).await?;
        }
        Ok(cp)
    }

    /// An admin client.
    pub async fn client(&self) -> Result<kube::Client> {
        client_for(&self.kubeconfig).await
    }

    /// The tails of both logs, for a failing test's output.
    pub fn log_tails(&self, lines: usize) -> String {
        let mut out = String::new();
        for p in [&self.etcd, &self.apiserver].into_iter().flatten() {
            out.push_str(&format!(
                "--- {} ({}) ---\n{}\n",
                p.name,
                p.log.display(),
                p.log_tail(lines)
            ));
        }
        out
    }

    /// Lets the processes keep running after this handle is gone; returns what `down` needs.
    pub fn detach(mut self) -> State {
        self.remove_state_dir = false;
        let etcd = self.etcd.take().expect("etcd running").detach();
        let api = self.apiserver.take().expect("apiserver running").detach();
        State {
            etcd_pid: etcd,
            apiserver_pid: api,
            extra: Vec::new(),
            etcd_data: std::mem::take(&mut self.etcd_data),
            server: self.server.clone(),
        }
    }

    /// Stops the apiserver only (to test how clients survive an outage).
    pub fn stop_apiserver(&mut self) {
        if let Some(mut p) = self.apiserver.take() {
            p.stop(Duration::from_secs(10));
        }
    }

    /// Starts the apiserver again, on the same port with the same flags, and waits until
    /// it is ready.
    pub async fn start_apiserver(&mut self) -> Result<()> {
        if self.apiserver.is_some() {
            bail!("kube-apiserver is already running");
        }
        let port = port_of(&self.server)?;
        let mut apiserver = Proc::respawn(
            "kube-apiserver",
            &self.assets.kube_apiserver,
            &with_port(&self.apiserver_args, port),
            &self.dir.join("kube-apiserver.log"),
        )?;
        wait_apiserver(&mut apiserver, &self.client().await?).await?;
        self.apiserver = Some(apiserver);
        Ok(())
    }

    /// Freezes or thaws kube-apiserver (SIGSTOP / SIGCONT): while frozen, requests hang.
    pub fn freeze_apiserver(&self, frozen: bool) -> Result<()> {
        self.apiserver
            .as_ref()
            .context("kube-apiserver is not running")?
            .freeze(frozen)
    }

    /// Stops etcd only; its data stays for [`Self::start_etcd`].
    pub fn stop_etcd(&mut self) {
        if let Some(mut p) = self.etcd.take() {
            p.stop(Duration::from_secs(5));
        }
    }

    /// Starts etcd again on the same data and ports, and waits until it is healthy.
    pub fn start_etcd(&mut self) -> Result<()> {
        if self.etcd.is_some() {
            bail!("etcd is already running");
        }
        let mut etcd = Proc::respawn(
            "etcd",
            &self.assets.etcd,
            &self.etcd_args,
            &self.dir.join("etcd.log"),
        )?;
        let port = self.etcd_port;
        wait_for(&mut etcd, Duration::from_secs(30), || {
            http_get_ok(port, "/health")
        })?;
        self.etcd = Some(etcd);
        Ok(())
    }

    /// Starts a second apiserver on the same etcd, as in an HA control plane, and waits
    /// until it is ready.
    pub async fn peer_apiserver(&self) -> Result<PeerApiserver> {
        let port = free_port()?;
        let server = format!("https://127.0.0.1:{port}");
        let log = self.dir.join(format!("kube-apiserver-{port}.log"));
        let mut proc = Proc::spawn(
            "kube-apiserver (peer)",
            &self.assets.kube_apiserver,
            &with_port(&self.apiserver_args, port),
            &log,
        )?;
        let kubeconfig = self.dir.join(format!("kubeconfig-{port}"));
        let admin =
            |f: &str| std::fs::read_to_string(self.dir.join(f)).with_context(|| format!("reading {f}"));
        write(
            &kubeconfig,
            &kubeconfig_yaml(
                &server,
                &self.ca.pair.cert_pem,
                &admin("admin.crt")?,
                &admin("admin.key")?,
            ),
        )?;
        wait_apiserver(&mut proc, &client_for(&kubeconfig).await?).await?;
        Ok(PeerApiserver {
            server,
            kubeconfig,
            proc,
        })
    }

    /// Compacts etcd's history up to its current revision, so any watch resumed from an
    /// older resourceVersion gets 410 Gone. Returns the revision.
    pub fn compact_etcd(&self) -> Result<u64> {
        // etcd's JSON gateway: keys are base64; "AA==" ("\0") to "AA==" ranges every key.
        let range = etcd_post(
            self.etcd_port,
            "/v3/kv/range",
            r#"{"key":"AA==","range_end":"AA==","count_only":true}"#,
        )?;
        let revision: u64 = range["header"]["revision"]
            .as_str()
            .and_then(|r| r.parse().ok())
            .with_context(|| format!("no header.revision in etcd's answer {range}"))?;
        etcd_post(
            self.etcd_port,
            "/v3/kv/compaction",
            &format!(r#"{{"revision":"{revision}","physical":true}}"#),
        )?;
        Ok(revision)
    }
}

/// kube-apiserver's flags, all but `--secure-port`.
fn apiserver_args(dir: &Path, etcd_url: &str, server: &str, extra: &[String]) -> Vec<String> {
    let d = |f: &str| dir.join(f).display().to_string();
    let mut args: Vec<String> = vec![
        format!("--etcd-servers={etcd_url}"),
        format!("--cert-dir={}", d("certs")),
        format!("--tls-cert-file={}", d("apiserver.crt")),
        format!("--tls-private-key-file={}", d("apiserver.key")),
        format!("--client-ca-file={}", d("ca.crt")),
        format!("--service-account-issuer={server}"),
        format!("--service-account-key-file={}", d("sa.pub")),
        format!("--service-account-signing-key-file={}", d("sa.key")),
        "--enable-priority-and-fairness=false".into(),
        "--profiling=false".into(),
    ];
    args.extend(extra.iter().cloned());
    args
}

/// The flags of an apiserver without nodes: loopback only, no pods, so no Service
/// endpoints and no service-account tokens to mount.
fn local_apiserver_args() -> Vec<String> {
    vec![
        "--bind-address=127.0.0.1".into(),
        "--advertise-address=127.0.0.1".into(),
        "--endpoint-reconciler-type=none".into(),
        "--authorization-mode=RBAC".into(),
        "--service-cluster-ip-range=10.0.0.0/24".into(),
        "--disable-admission-plugins=ServiceAccount".into(),
    ]
}

/// The flags of an apiserver that nodes join: it listens on the host address pods route
/// to, publishes it as the `kubernetes` Service's endpoint, mounts service-account tokens
/// into pods, and authorizes kubelets as nodes. It reaches kubelets (logs, exec) with
/// the admin certificate.
fn node_apiserver_args(dir: &Path, addr: Ipv4Addr) -> Vec<String> {
    let d = |f: &str| dir.join(f).display().to_string();
    vec![
        format!("--bind-address={addr}"),
        format!("--advertise-address={addr}"),
        "--endpoint-reconciler-type=lease".into(),
        format!("--service-cluster-ip-range={NODE_SERVICE_CIDR}"),
        "--authorization-mode=Node,RBAC".into(),
        "--enable-admission-plugins=NodeRestriction".into(),
        format!("--kubelet-client-certificate={}", d("admin.crt")),
        format!("--kubelet-client-key={}", d("admin.key")),
        format!("--kubelet-certificate-authority={}", d("ca.crt")),
        "--kubelet-preferred-address-types=InternalIP".into(),
    ]
}

fn with_port(args: &[String], port: u16) -> Vec<String> {
    let mut args = args.to_vec();
    args.push(format!("--secure-port={port}"));
    args
}

fn port_of(server: &str) -> Result<u16> {
    server
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("no port in {server}"))
}

/// Waits up to 90 s for an apiserver to be ready (or to exit, which is an error).
async fn wait_apiserver(apiserver: &mut Proc, client: &kube::Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(status) = apiserver.exited() {
            bail!(
                "{} exited ({status}); its log ends with:\n{}",
                apiserver.name,
                apiserver.log_tail(30)
            );
        }
        if ready(client).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!(
                "{} not ready after 90 s; its log ends with:\n{}",
                apiserver.name,
                apiserver.log_tail(30)
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// POSTs JSON to etcd's HTTP gateway on loopback; returns the JSON answer.
fn etcd_post(port: u16, path: &str, body: &str) -> Result<serde_json::Value> {
    let mut s =
        TcpStream::connect(("127.0.0.1", port)).with_context(|| format!("connecting to etcd on {port}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)?;
    let (head, json) = answer
        .split_once("\r\n\r\n")
        .with_context(|| format!("etcd answered {path} with {answer:?}"))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        bail!("etcd answered {path} with {head}: {json}");
    }
    serde_json::from_str(json).with_context(|| format!("etcd's answer to {path}: {json}"))
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails(40));
        }
        if let Some(mut p) = self.apiserver.take() {
            p.stop(Duration::from_secs(10));
        }
        if let Some(mut p) = self.etcd.take() {
            p.stop(Duration::from_secs(5));
        }
        if !self.etcd_data.as_os_str().is_empty() {
            let _ = std::fs::remove_dir_all(&self.etcd_data);
        }
        if self.remove_state_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Stops what `up` started and removes etcd's data.
pub fn stop_state(state: &State) {
    for (_, pid) in &state.extra {
        process::stop_group(*pid, Duration::from_secs(5));
    }
    process::stop_group(state.apiserver_pid, Duration::from_secs(10));
    process::stop_group(state.etcd_pid, Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&state.etcd_data);
}

/// A client for a kubeconfig file.
pub async fn client_for(kubeconfig: &Path) -> Result<kube::Client> {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
    Ok(kube::Client::try_from(config)?)
}

/// Whether `/readyz` answers ok and namespace `default` exists.
pub async fn ready(client: &kube::Client) -> bool {
    let req = http_request("/readyz");
    let ok = matches!(client.request_text(req).await, Ok(body) if body.trim() == "ok");
    if !ok {
        return false;
    }
    let ns: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client.clone());
    ns.get_opt("default").await.ok().flatten().is_some()
}

fn http_request(path: &str) -> http::Request<Vec<u8>> {
    http::Request::get(path).body(Vec::new()).expect("static request")
}

fn wait_for(proc_: &mut Proc, timeout: Duration, mut ok: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !ok() {
        if let Some(status) = proc_.exited() {
            bail!(
                "{} exited ({status}); its log ends with:\n{}",
                proc_.name,
                proc_.log_tail(30)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "{} not ready after {:?}; its log ends with:\n{}",
                proc_.name,
                timeout,
                proc_.log_tail(30)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A plain HTTP GET on loopback that reports whether the answer was 200.
fn http_get_ok(port: u16, path: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.ends_with(b"200")
}

fn kubeconfig_yaml(server: &str, ca: &str, cert: &str, key: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: vmimage-local\n  cluster:\n    server: {server}\n    \
         certificate-authority-data: {}\nusers:\n- name: vmimage-admin\n  user:\n    client-certificate-data: {}\n    \
         client-key-data: {}\ncontexts:\n- name: vmimage-local\n  context:\n    cluster: vmimage-local\n    \
         user: vmimage-admin\n    namespace: default\ncurrent-context: vmimage-local\n",
        B64.encode(ca),
        B64.encode(cert),
        B64.encode(key)
    )
}
