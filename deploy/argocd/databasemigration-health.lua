-- Argo CD resource health for revisor.dev/DatabaseMigration and DatabaseMigrationSet
-- (argocd-cm: resource.customizations.health.revisor.dev_DatabaseMigration and
-- resource.customizations.health.revisor.dev_DatabaseMigrationSet, both this script). It
-- reads the kstatus conditions the operator writes on both kinds: Ready, Reconciling (work
-- in progress, retries included) and Stalled (it will not go on without a human), with
-- observedGeneration.
local hs = { status = "Progressing", message = "waiting for the operator" }

if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "spec.suspend is true: nothing is checked or applied"
  return hs
end
if obj.spec ~= nil and obj.spec.rollout ~= nil and obj.spec.rollout.pause == true then
  hs.status = "Suspended"
  hs.message = "spec.rollout.pause is true: no further database starts"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.message = "the operator has not seen the latest spec yet"
  return hs
end

local function condition(type)
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local ready = condition("Ready")
local stalled = condition("Stalled")
local reconciling = condition("Reconciling")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
elseif stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = (stalled.reason or "") .. ": " .. (stalled.message or "")
elseif reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = (reconciling.reason or "") .. ": " .. (reconciling.message or "")
elseif ready ~= nil and ready.reason == "DryRun" then
  hs.status = "Suspended"
  hs.message = "spec.dryRun is true: the plan is in status.plan, nothing is applied"
elseif ready ~= nil and ready.reason == "ApprovalRequired" then
  hs.status = "Suspended"
  hs.message = ready.message or "the plan in status.plan waits for approval"
end
return hs
