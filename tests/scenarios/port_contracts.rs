//! The store ports' behaviour suites (`integration_tests::port_contracts`), each rule run
//! against the in-memory fake (`…::memory`) and DynamoDB on the emulator (`…::dynamodb`).

/// For each suite and rule, a module named after the rule with one test per store.
macro_rules! port_contracts {
    ($($suite:ident: [$($rule:ident),* $(,)?])*) => {$(
        mod $suite {$(
            mod $rule {
                use integration_tests::{TestStack, port_contracts::{self, MemoryUnderTest}};

                #[tokio::test]
                async fn memory() {
                    port_contracts::$suite::$rule(&MemoryUnderTest::new()).await;
                }

                #[tokio::test]
                async fn dynamodb() {
                    port_contracts::$suite::$rule(&TestStack::new().await).await;
                }
            }
        )*}
    )*};
}

port_contracts! {
    worklist: [
        replies_list_the_clinics_unclear_appointments_newest_first_within_the_window,
        a_page_continues_after_its_last_entry,
        clearing_shows_the_emr_status_again_and_takes_it_off_the_list,
        a_resync_keeps_an_unclear_appointment_on_the_list,
    ]
    import_store: [
        an_import_reads_back_as_created_and_its_id_is_taken_once,
        progress_is_saved_only_over_the_progress_it_was_read_at,
        a_report_listing_the_most_refusals_is_stored,
    ]
    emr_records: [
        a_patient_is_written_then_updated_with_versions,
        an_older_patient_update_changes_nothing,
        an_appointment_needs_its_patient_and_lands_in_their_cards,
        an_older_appointment_update_changes_nothing,
        a_resync_keeps_unclear_until_staff_clear_it,
        an_appointment_moved_to_another_patient_leaves_the_first_ones_cards,
        a_health_number_finds_only_its_clinics_patient,
        a_batch_is_written_together_each_patient_once,
        a_batch_with_an_unknown_patient_writes_nothing,
        a_batch_larger_than_one_transaction_writes_nothing,
    ]
    clinic_store: [
        a_clinic_reads_back_as_written,
        a_clinic_is_found_by_its_sms_number,
        templates_are_listed_per_clinic_in_id_order_and_got_by_id,
        chats_are_listed_per_clinic_in_id_order_and_got_by_id,
        an_opt_out_is_set_and_cleared_per_clinic_and_number,
        an_auto_reply_is_taken_once_a_day_per_number_and_kind,
    ]
    appointment_store: [
        an_appointment_and_its_patient_read_back_as_written,
        appointment_times_are_kept_to_the_second,
        an_upsert_moves_the_patients_lookup_keys_in_one_go,
        a_patients_cards_keep_one_per_appointment_in_start_order,
        every_upsert_of_a_patient_bumps_its_version,
        only_an_existing_appointment_is_marked_unclear,
    ]
    patient_directory: [
        lookups_return_the_entries_under_their_key_in_sort_key_order,
        a_lookup_pages_on_after_the_last_sort_key,
        after_a_full_page_the_next_is_empty_and_the_last,
        an_entry_opens_only_with_its_clinics_key,
        an_exact_key_finds_its_patient_and_an_unknown_key_nothing,
    ]
    message_links: [
        a_withdrawal_closes_the_link_and_deletes_the_content_once,
        a_withdrawal_of_a_link_the_message_no_longer_has_writes_nothing,
        a_resend_moves_the_content_to_a_new_link_and_closes_the_old_one,
        a_resend_to_a_number_that_opted_out_writes_nothing,
        the_sweeper_leaves_a_message_resent_since_it_read_it,
    ]
    message_store: [
        a_numbers_recent_messages_since_a_time_are_found_newest_first,
        at_most_the_latest_few_messages_to_a_number_are_read,
        messages_for_an_appointment_are_listed_newest_first,
        message_times_are_kept_to_the_second,
        a_message_link_names_its_kind_and_a_secure_ones_content_key,
        a_receipt_is_recorded_on_its_message_and_only_a_later_one_replaces_it,
        a_clinics_messages_are_listed_newest_first_in_pages_within_the_window,
    ]
    clinic_admin: [
        a_new_clinic_takes_its_sms_number_for_good,
        of_two_clinics_racing_for_one_number_one_is_created,
        settings_change_only_the_fields_named,
        an_item_is_created_once_then_changed_only_at_the_version_read,
        names_are_unique_per_clinic_and_kind_until_renamed_or_deleted,
        a_delete_needs_the_version_read,
        an_integration_client_is_bound_to_one_clinic,
    ]
    audit_trail: [
        a_window_is_read_newest_first_for_its_clinic_only,
        each_filter_finds_its_entries_and_filters_combine,
        pages_hold_every_entry_once,
    ]
    audit_log: [
        appended_entries_are_kept_in_their_clinics_trail,
        a_recorded_entry_is_appended,
        audit_entries_alike_to_the_second_are_all_kept,
    ]
    unlock_store: [
        a_secure_message_is_found_by_its_token_hash_with_fresh_attempts,
        a_stale_attempts_version_is_refused,
        a_lockout_is_saved_and_read_back,
        attempts_of_an_unknown_token_are_not_saved,
        unlock_times_are_kept_to_the_second,
        an_opening_writes_its_counters_the_first_opening_and_its_audit_entry,
        an_opening_on_stale_counters_writes_nothing,
        opening_an_unknown_message_fails_and_writes_nothing,
        a_lock_is_kept_on_the_message_to_the_second_until_cleared,
    ]
    inbound_log: [
        the_first_claim_of_an_inbound_sms_is_mine,
        a_second_claim_within_the_lease_is_busy,
        a_claim_after_the_lease_takes_over_with_the_recorded_progress,
        a_finished_inbound_sms_is_done,
        a_reply_sets_the_status_claims_the_days_auto_reply_and_is_audited,
        a_number_on_the_clinics_stop_list_is_not_claimed_and_the_rest_is_written,
        a_reply_to_a_gone_appointment_writes_the_rest,
        a_reply_to_an_unclaimed_sms_writes_nothing,
        the_lease_is_kept_to_the_second,
    ]
    send_store: [
        a_send_reads_its_appointment_patient_template_and_chats,
        begin_send_records_the_message_and_claims_the_key,
        begin_send_writes_nothing_when_the_recipient_opted_out,
        begin_send_writes_nothing_when_the_patient_changed,
        begin_send_writes_nothing_when_the_key_is_taken,
        a_message_or_unlock_item_is_never_written_over_another,
        an_expired_idempotency_key_reads_as_absent_and_may_be_claimed_again,
        idempotency_key_times_are_kept_to_the_second,
        finish_send_writes_outcome_answer_and_audit_together,
        finish_send_without_an_answer_gives_the_key_back,
        finish_send_writes_nothing_when_its_message_is_missing,
        finish_send_writes_nothing_when_its_key_was_never_claimed,
        a_send_left_sending_is_found_oldest_first_until_it_is_settled,
        marking_unconfirmed_answers_the_key_once_and_a_late_outcome_wins,
        a_failed_secure_send_deletes_its_content,
    ]
}
