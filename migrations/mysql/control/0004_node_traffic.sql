-- Each node's recent request rate and latency, written at every heartbeat so any node can
-- show the whole cluster's traffic in the admin console (GET /cp/v1/nodes/stats). Nodes of
-- earlier versions leave it NULL.
ALTER TABLE cluster_node ADD COLUMN traffic LONGTEXT NULL;
