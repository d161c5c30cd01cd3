//! Watches of Nodes (full objects, reduced at once to a [`NodeTarget`]) and Pod metadata
//! (reduced to labels) that keep an [`Inventory`] current, relisting as the watcher requires.

use super::inventory::{AddressOptions, Inventory, NodeTarget, PodRelist};
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::{self, Event};

/// Spawns the two watch tasks.
pub fn spawn(client: kube::Client, inventory: Inventory, node_selector: Option<String>, address: AddressOptions) {
    let nodes_inv = inventory.clone();
    let nodes_api: Api<Node> = Api::all(client.clone());
    tokio::spawn(async move {
        let mut config = watcher::Config::default();
        if let Some(sel) = node_selector.filter(|s| !s.is_empty()) {
            config = config.labels(&sel);
        }
        let mut pending: Vec<NodeTarget> = Vec::new();
        let mut stream = std::pin::pin!(watcher::watcher(nodes_api, config));
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Apply(n)) => nodes_inv.upsert_node(NodeTarget::from_node(&n, &address)),
                Ok(Event::Delete(n)) => nodes_inv.remove_node(n.metadata.name.as_deref().unwrap_or_default()),
                Ok(Event::Init) => pending.clear(),
                Ok(Event::InitApply(n)) => pending.push(NodeTarget::from_node(&n, &address)),
                Ok(Event::InitDone) => nodes_inv.replace_nodes(std::mem::take(&mut pending)),
                Err(e) => {
                    tracing::warn!("watching nodes: {e}");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
    let pods_api: Api<PartialObjectMeta<Pod>> = Api::all(client);
    tokio::spawn(async move {
        let mut pending = PodRelist::default();
        let config = watcher::Config::default().fields("status.phase=Running");
        let mut stream = std::pin::pin!(watcher::watcher(pods_api, config));
        let key = |m: &kube::core::ObjectMeta| (m.namespace.clone().unwrap_or_default(), m.name.clone().unwrap_or_default());
        while let Some(event) = stream.next().await {
            match event {
                Ok(Event::Apply(p)) => {
                    let (ns, name) = key(&p.metadata);
                    inventory.upsert_pod(&ns, &name, p.metadata.labels.clone().unwrap_or_default());
                }
                Ok(Event::Delete(p)) => {
                    let (ns, name) = key(&p.metadata);
                    inventory.remove_pod(&ns, &name);
                }
                Ok(Event::Init) => pending = PodRelist::default(),
                Ok(Event::InitApply(p)) => {
                    let (ns, name) = key(&p.metadata);
                    pending.push(&ns, &name, p.metadata.labels.unwrap_or_default());
                }
                Ok(Event::InitDone) => inventory.finish_relist(std::mem::take(&mut pending)),
                Err(e) => {
                    tracing::warn!("watching pods: {e}");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
        }
    });
}
