//! An index of free capacity, so that finding a host for a job costs the same with 10 or
//! 20,000 instances.
//!
//! Instances are bucketed by (GPU host or not, free GPUs, free vCPUs); each bucket holds its
//! instances ordered by (free memory, id). The number of buckets is bounded by the distinct sizes in the catalog
//! (at most a few hundred), not by the fleet, and a lookup visits buckets in order and does
//! one ordered-set probe in each, so a placement is O(buckets × log fleet).

use super::InstanceId;
use std::collections::{BTreeMap, BTreeSet};

/// Resources a job asks for, or an instance has free.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Resources {
    /// vCPUs.
    pub vcpus: u32,
    /// Memory in MiB.
    pub memory_mib: u32,
    /// Whole GPUs.
    pub gpus: u32,
}

impl Resources {
    /// Whether `need` fits in `self`.
    pub fn holds(&self, need: &Resources) -> bool {
        self.vcpus >= need.vcpus && self.memory_mib >= need.memory_mib && self.gpus >= need.gpus
    }

    /// `self - need`, saturating at zero.
    pub fn minus(&self, need: &Resources) -> Resources {
        Resources {
            vcpus: self.vcpus.saturating_sub(need.vcpus),
            memory_mib: self.memory_mib.saturating_sub(need.memory_mib),
            gpus: self.gpus.saturating_sub(need.gpus),
        }
    }

    /// `self + other`.
    pub fn plus(&self, other: &Resources) -> Resources {
        Resources {
            vcpus: self.vcpus + other.vcpus,
            memory_mib: self.memory_mib + other.memory_mib,
            gpus: self.gpus + other.gpus,
        }
    }
}

/// Free capacity of a set of instances, searchable by what a job needs.
#[derive(Clone, Debug, Default)]
pub struct CapacityIndex {
    buckets: BTreeMap<(bool, u32, u32), BTreeSet<(u32, InstanceId)>>,
    len: usize,
}

impl CapacityIndex {
    /// Adds an instance with `free` capacity (`gpu_host`: its type has GPUs). An instance
    /// with nothing free is not indexed.
    pub fn insert(&mut self, id: InstanceId, free: Resources, gpu_host: bool) {
        if free.vcpus == 0 || free.memory_mib == 0 {
            return;
        }
        let added = self
            .buckets
            .entry((gpu_host, free.gpus, free.vcpus))
            .or_default()
            .insert((free.memory_mib, id));
        self.len += usize::from(added);
    }

    /// Removes an instance indexed with `free` capacity (a no-op if it is not there).
    pub fn remove(&mut self, id: InstanceId, free: Resources, gpu_host: bool) {
        let key = (gpu_host, free.gpus, free.vcpus);
        if let Some(set) = self.buckets.get_mut(&key) {
            if set.remove(&(free.memory_mib, id)) {
                self.len -= 1;
            }
            if set.is_empty() {
                self.buckets.remove(&key);
            }
        }
    }

    /// The tightest instance that holds `need`: hosts without GPUs first, then fewest free
    /// GPUs, fewest free vCPUs, least free memory, lowest id. Preferring hosts without GPUs
    /// keeps CPU jobs off GPU hosts when another host has room, without forbidding it (AWS
    /// allows it, §8); `gpu_hosts` false forbids it.
    pub fn best_fit(&self, need: &Resources, gpu_hosts: bool) -> Option<InstanceId> {
        let end = if gpu_hosts {
            (true, u32::MAX, u32::MAX)
        } else {
            (false, u32::MAX, u32::MAX)
        };
        for (&(_, gpus, vcpus), set) in self.buckets.range((false, 0, 0)..=end) {
            if gpus < need.gpus || vcpus < need.vcpus {
                continue;
            }
            if let Some(&(_, id)) = set.range((need.memory_mib, InstanceId(0))..).next() {
                return Some(id);
            }
        }
        None
    }

    /// The loosest instance that holds `need`: hosts without GPUs first, then most free
    /// GPUs, most free vCPUs, most free memory.
    pub fn worst_fit(&self, need: &Resources, gpu_hosts: bool) -> Option<InstanceId> {
        let classes: &[bool] = if gpu_hosts { &[false, true] } else { &[false] };
        for &gpu_host in classes {
            let range = (gpu_host, 0, 0)..=(gpu_host, u32::MAX, u32::MAX);
            for (&(_, gpus, vcpus), set) in self.buckets.range(range).rev() {
                if gpus < need.gpus || vcpus < need.vcpus {
                    continue;
                }
                match set.last() {
                    Some(&(mem, id)) if mem >= need.memory_mib => return Some(id),
                    _ => {}
                }
            }
        }
        None
    }

    /// Every instance that holds `need` with its free capacity, in [`Self::best_fit`]'s
    /// order (tightest first).
    pub fn fitting<'a>(
        &'a self,
        need: &'a Resources,
        gpu_hosts: bool,
    ) -> impl Iterator<Item = (InstanceId, Resources)> + 'a {
        let end = (gpu_hosts, u32::MAX, u32::MAX);
        self.buckets
            .range((false, 0, 0)..=end)
            .filter(move |(&(_, gpus, vcpus), _)| gpus >= need.gpus && vcpus >= need.vcpus)
            .flat_map(move |(&(_, gpus, vcpus), set)| {
                set.range((need.memory_mib, InstanceId(0))..)
                    .map(move |&(memory_mib, id)| {
                        let free = Resources {
                            vcpus,
                            memory_mib,
                            gpus,
                        };
                        (id, free)
                    })
            })
    }

    /// Number of indexed instances.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(vcpus: u32, memory_mib: u32, gpus: u32) -> Resources {
        Resources {
            vcpus,
            memory_mib,
            gpus,
        }
    }

    #[test]
    fn best_fit_picks_tightest_host() {
        let mut idx = CapacityIndex::default();
        idx.insert(InstanceId(1), r(8, 16000, 0), false);
        idx.insert(InstanceId(2), r(2, 4000, 0), false);
        idx.insert(InstanceId(3), r(4, 1000, 0), false);
        idx.insert(InstanceId(4), r(4, 8000, 1), true);
        assert_eq!(idx.best_fit(&r(2, 2000, 0), true), Some(InstanceId(2)));
        // 4 vCPUs and 2000 MiB: instance 3 lacks memory, so 1 (no GPU) beats 4 (a GPU host).
        assert_eq!(idx.best_fit(&r(4, 2000, 0), true), Some(InstanceId(1)));
        assert_eq!(idx.best_fit(&r(1, 1000, 1), true), Some(InstanceId(4)));
        assert_eq!(idx.best_fit(&r(16, 1000, 0), true), None);
        idx.remove(InstanceId(1), r(8, 16000, 0), false);
        assert_eq!(idx.best_fit(&r(4, 2000, 0), true), Some(InstanceId(4)));
        assert_eq!(
            idx.best_fit(&r(4, 2000, 0), false),
            None,
            "GPU hosts excluded"
        );
        assert_eq!(idx.len(), 3);
    }

    #[test]
    fn worst_fit_and_fitting_order() {
        let mut idx = CapacityIndex::default();
        idx.insert(InstanceId(1), r(8, 16000, 0), false);
        idx.insert(InstanceId(2), r(2, 4000, 0), false);
        idx.insert(InstanceId(3), r(4, 1000, 0), false);
        idx.insert(InstanceId(4), r(16, 64000, 2), true);
        assert_eq!(idx.worst_fit(&r(2, 2000, 0), true), Some(InstanceId(1)));
        assert_eq!(idx.worst_fit(&r(2, 2000, 1), true), Some(InstanceId(4)));
        assert_eq!(idx.worst_fit(&r(10, 2000, 0), false), None);
        let ids: Vec<u32> = idx
            .fitting(&r(2, 2000, 0), true)
            .map(|(i, _)| i.0)
            .collect();
        assert_eq!(
            ids,
            [2, 1, 4],
            "tightest first, GPU host last; 3 lacks memory"
        );
        let (_, free) = idx.fitting(&r(2, 2000, 0), true).next().unwrap();
        assert_eq!(free, r(2, 4000, 0));
    }
}
