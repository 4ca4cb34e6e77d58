-- Argo CD health check for KaiwoMonitor (resource.customizations.health.monitoring.kaiwo.silogen.ai_KaiwoMonitor).
-- Progressing until the operator has observed the current generation and every enabled component (Ready=True);
-- then Healthy only when the monitored stack is Healthy=True. Healthy=False is Degraded, and so is a component the
-- monitor cannot vouch for after observing it (Healthy=Unknown: not installed, metrics unreachable, no GPU nodes):
-- it never stays Progressing forever. An invalid spec (Ready=False) is Degraded with the reason.
hs = { status = "Progressing", message = "not observed yet" }
if obj.status == nil or obj.status.conditions == nil then return hs end
if obj.status.observedGeneration ~= obj.metadata.generation then
  hs.message = "waiting for the operator to observe the latest spec"
  return hs
end
local ready = nil
local healthy = nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "Healthy" then healthy = c end
end
if ready == nil then return hs end
if ready.status == "False" then return { status = "Degraded", message = ready.reason .. ": " .. ready.message } end
if ready.status ~= "True" then return { status = "Progressing", message = ready.message } end
if healthy == nil then return hs end
if healthy.status == "True" then return { status = "Healthy", message = healthy.message } end
return { status = "Degraded", message = healthy.status .. ": " .. healthy.message }
