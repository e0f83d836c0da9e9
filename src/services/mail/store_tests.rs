use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use super::*;

/// A fresh store in its own temporary directory, removed on drop.
struct TestStore {
    root: PathBuf,
    store: Store,
}

impl TestStore {
    fn new() -> TestStore {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let root = std::env::temp_dir().join(format!(
            "labctl-store-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&root);
        let store = Store::open(&root).unwrap();
        store.create_user("ada").unwrap();
        TestStore { root, store }
    }

    /// The same directory opened again, as after a daemon restart.
    fn reopen(&self) -> Store {
        Store::open(&self.root).unwrap()
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn delivery_lands_in_new_byte_exact_with_growing_uids() {
    let t = TestStore::new();
    let first = b"Subject: one\r\n\r\nbody\r\n.\r\n\x00\xff".to_vec();
    assert_eq!(t.store.deliver("ada", &first).unwrap(), 1);
    assert_eq!(t.store.deliver("ada", b"two").unwrap(), 2);
    let inbox = t.root.join("ada");
    assert_eq!(files_in(&inbox.join("new")).len(), 2);
    assert!(files_in(&inbox.join("tmp")).is_empty());
    assert_eq!(t.store.read("ada", "INBOX", 1).unwrap(), first);
    let snapshot = t.store.snapshot("ada", "inbox").unwrap();
    assert_eq!(snapshot.uid_next, 3);
    let sizes: Vec<(u32, u64)> = snapshot.messages.iter().map(|m| (m.uid, m.size)).collect();
    assert_eq!(sizes, [(1, first.len() as u64), (2, 3)]);
    assert!(snapshot.messages.iter().all(|m| m.flags.is_empty()));
}

#[test]
fn unknown_users_and_bad_names_are_refused() {
    let t = TestStore::new();
    assert!(t.store.has_user("ada"));
    assert!(!t.store.has_user("bob"));
    assert!(!t.store.has_user("../ada"));
    let err = t.store.deliver("bob", b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    let err = t.store.deliver("../../etc", b"x").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    for bad in ["", "a/b", ".hidden", "a..b", "a.", "x\ny"] {
        let err = t.store.create_folder("ada", bad).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
    }
    let err = t.store.read("ada", "INBOX", 9).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
}

#[test]
fn uids_and_uidvalidity_survive_a_restart_and_are_never_reused() {
    let t = TestStore::new();
    for i in 0..3 {
        t.store.deliver("ada", format!("m{i}").as_bytes()).unwrap();
    }
    t.store.remove("ada", "INBOX", 3).unwrap();
    // Removing it again (a second session's expunge) is no error.
    t.store.remove("ada", "INBOX", 3).unwrap();
    let before = t.store.snapshot("ada", "INBOX").unwrap();
    let store = t.reopen();
    let after = store.snapshot("ada", "INBOX").unwrap();
    assert_eq!(after.uid_validity, before.uid_validity);
    assert_eq!(after.messages, before.messages);
    assert!(after.uid_next >= 4, "{}", after.uid_next);
    let uid = store.deliver("ada", b"m3").unwrap();
    assert!(uid >= 4, "UID 3 was removed and must not come back ({uid})");
    assert_eq!(store.read("ada", "INBOX", uid).unwrap(), b"m3");
}

#[test]
fn flags_are_maildir_info_and_keep_the_uid() {
    let t = TestStore::new();
    let uid = t.store.deliver("ada", b"hello").unwrap();
    t.store
        .set_flags("ada", "INBOX", uid, &[Flag::Seen, Flag::Flagged])
        .unwrap();
    let names = files_in(&t.root.join("ada/cur"));
    assert_eq!(names.len(), 1);
    assert!(
        names[0].ends_with(&format!(",U={uid},S=5:2,FS")),
        "{names:?}"
    );
    assert!(files_in(&t.root.join("ada/new")).is_empty());
    let store = t.reopen();
    let snapshot = store.snapshot("ada", "INBOX").unwrap();
    assert_eq!(snapshot.messages[0].uid, uid);
    assert_eq!(snapshot.messages[0].flags, [Flag::Seen, Flag::Flagged]);
    store.set_flags("ada", "INBOX", uid, &[]).unwrap();
    assert!(
        store.snapshot("ada", "INBOX").unwrap().messages[0]
            .flags
            .is_empty()
    );
    assert_eq!(store.read("ada", "INBOX", uid).unwrap(), b"hello");
}

#[test]
fn folders_create_list_rename_delete() {
    let t = TestStore::new();
    t.store.create_folder("ada", "Sent").unwrap();
    t.store.create_folder("ada", "Archive").unwrap();
    t.store.create_folder("ada", "Archive.2026").unwrap();
    let err = t.store.create_folder("ada", "Sent").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(
        t.store.folders("ada").unwrap(),
        ["INBOX", "Archive", "Archive.2026", "Sent"]
    );
    assert!(t.root.join("ada/.Sent/maildirfolder").exists());
    let uid = t
        .store
        .append(
            "ada",
            "Archive.2026",
            b"old",
            &[Flag::Seen],
            SystemTime::now(),
        )
        .unwrap();
    t.store.rename_folder("ada", "Archive", "Old").unwrap();
    assert_eq!(
        t.store.folders("ada").unwrap(),
        ["INBOX", "Old", "Old.2026", "Sent"]
    );
    assert_eq!(t.store.read("ada", "Old.2026", uid).unwrap(), b"old");
    t.store.delete_folder("ada", "Old").unwrap();
    assert_eq!(
        t.store.folders("ada").unwrap(),
        ["INBOX", "Old.2026", "Sent"]
    );
    assert_eq!(
        t.store.delete_folder("ada", "INBOX").unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    assert_eq!(
        t.store.snapshot("ada", "Nope").unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn folders_per_user_are_capped() {
    let t = TestStore::new();
    // Made by hand (as fast as it gets); the store counts what is there.
    for i in 1..MAX_FOLDERS {
        create_maildir(&t.root.join(format!("ada/.F{i}"))).unwrap();
    }
    t.store.create_folder("ada", "Last").unwrap();
    let err = t.store.create_folder("ada", "One.Too.Many").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::QuotaExceeded);
    assert!(err.to_string().contains("delete some first"), "{err}");
    assert_eq!(
        t.store.create_folder("ada", "Last").unwrap_err().kind(),
        io::ErrorKind::AlreadyExists,
        "an existing folder is still reported as such"
    );
    t.store.delete_folder("ada", "F1").unwrap();
    t.store.create_folder("ada", "One.Too.Many").unwrap();
}

#[test]
fn a_recreated_folder_gets_a_new_uidvalidity() {
    let t = TestStore::new();
    t.store.create_folder("ada", "Box").unwrap();
    let first = t.store.snapshot("ada", "Box").unwrap().uid_validity;
    t.store.delete_folder("ada", "Box").unwrap();
    t.store.create_folder("ada", "Box").unwrap();
    let second = t.store.snapshot("ada", "Box").unwrap().uid_validity;
    assert_ne!(first, second);
}

#[test]
fn renaming_inbox_moves_its_messages() {
    let t = TestStore::new();
    t.store.deliver("ada", b"a").unwrap();
    t.store.deliver("ada", b"b").unwrap();
    t.store.rename_folder("ada", "INBOX", "Saved").unwrap();
    assert!(
        t.store
            .snapshot("ada", "INBOX")
            .unwrap()
            .messages
            .is_empty()
    );
    let saved = t.store.snapshot("ada", "Saved").unwrap();
    let bodies: Vec<Vec<u8>> = saved
        .messages
        .iter()
        .map(|m| t.store.read("ada", "Saved", m.uid).unwrap())
        .collect();
    assert_eq!(bodies, [b"a".to_vec(), b"b".to_vec()]);
}

#[test]
fn append_keeps_flags_and_date_and_copy_gets_a_new_uid() {
    let t = TestStore::new();
    t.store.create_folder("ada", "Sent").unwrap();
    let date = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let uid = t
        .store
        .append("ada", "Sent", b"draft", &[Flag::Draft, Flag::Seen], date)
        .unwrap();
    let sent = t.store.snapshot("ada", "Sent").unwrap();
    assert_eq!(sent.messages[0].internal_date, date);
    assert_eq!(sent.messages[0].flags, [Flag::Seen, Flag::Draft]);
    t.store.deliver("ada", b"first in inbox").unwrap();
    let copied = t.store.copy("ada", "Sent", uid, "INBOX").unwrap();
    assert_eq!(copied, 2);
    let inbox = t.store.snapshot("ada", "INBOX").unwrap();
    assert_eq!(inbox.messages[1].flags, [Flag::Seen, Flag::Draft]);
    assert_eq!(inbox.messages[1].internal_date, date);
    assert_eq!(t.store.read("ada", "INBOX", copied).unwrap(), b"draft");
    // The copy is independent of the original.
    t.store.remove("ada", "Sent", uid).unwrap();
    assert_eq!(t.store.read("ada", "INBOX", copied).unwrap(), b"draft");
    assert!(t.store.snapshot("ada", "Sent").unwrap().messages.is_empty());
}

#[test]
fn files_dropped_in_by_hand_get_uids_and_removed_files_vanish() {
    let t = TestStore::new();
    let first = t.store.deliver("ada", b"ours").unwrap();
    fs::write(t.root.join("ada/new/1234.hand.host"), b"by hand").unwrap();
    let snapshot = t.store.snapshot("ada", "INBOX").unwrap();
    assert_eq!(snapshot.messages.len(), 2);
    let hand = snapshot.messages[1].uid;
    assert!(hand > first);
    assert_eq!(t.store.read("ada", "INBOX", hand).unwrap(), b"by hand");
    // Its name now carries the UID, so it keeps it after a restart.
    let store = t.reopen();
    assert_eq!(store.read("ada", "INBOX", hand).unwrap(), b"by hand");
    for name in files_in(&t.root.join("ada/new")) {
        fs::remove_file(t.root.join("ada/new").join(name)).unwrap();
    }
    assert!(store.snapshot("ada", "INBOX").unwrap().messages.is_empty());
}

#[test]
fn snapshot_if_changed_answers_none_until_the_folder_changes() {
    let t = TestStore::new();
    t.store.deliver("ada", b"one").unwrap();
    let first = t.store.snapshot("ada", "INBOX").unwrap();
    let unchanged = t.store.snapshot_if_changed("ada", "INBOX", first.version);
    assert_eq!(unchanged.unwrap(), None, "nothing changed, nothing copied");
    // Each kind of change gives a new version: a delivery, new flags, a
    // removal, a file dropped in by hand, and the folder loaded again.
    let mut seen = first.version;
    let mut changed = |store: &Store, what: &str| {
        let now = store
            .snapshot_if_changed("ada", "INBOX", seen)
            .unwrap()
            .unwrap_or_else(|| panic!("{what} went unnoticed"));
        assert_ne!(now.version, seen, "{what}");
        seen = now.version;
        now
    };
    let uid = t.store.deliver("ada", b"two").unwrap();
    assert_eq!(changed(&t.store, "a delivery").messages.len(), 2);
    t.store
        .set_flags("ada", "INBOX", uid, &[Flag::Seen])
        .unwrap();
    changed(&t.store, "new flags");
    t.store.remove("ada", "INBOX", uid).unwrap();
    assert_eq!(changed(&t.store, "a removal").messages.len(), 1);
    // The directory's mtime must move for the drop to be seen.
    std::thread::sleep(Duration::from_millis(20));
    fs::write(t.root.join("ada/new/1234.hand.host"), b"by hand").unwrap();
    assert_eq!(changed(&t.store, "a file by hand").messages.len(), 2);
    changed(&t.reopen(), "a reload");
}

#[test]
fn concurrent_deliveries_get_distinct_uids() {
    let t = TestStore::new();
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let store = t.store.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| store.deliver("ada", format!("{n}-{i}").as_bytes()).unwrap())
                    .collect::<Vec<u32>>()
            })
        })
        .collect();
    let mut uids: Vec<u32> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    uids.sort_unstable();
    assert_eq!(uids, (1..=100).collect::<Vec<u32>>());
    assert_eq!(
        t.store.snapshot("ada", "INBOX").unwrap().messages.len(),
        100
    );
}
