"""What the journeys press, and what they do not, with the reason: the guard test (test_journey_guard.py) fails
when the window has a button or menu item that is in neither list, and each journey's end checks that it
really pressed what is listed under its name here."""

CLICKED_BY = {
    "test_choose_a_folder_start_stop_resume_and_use_the_model": [
        "Train/Choose folder…", "Train/Start training", "Train/Stop", "Train/Resume", "Train/Use this model"],
    "test_stop_during_the_finishing_steps_skips_them_and_keeps_a_whole_model": ["Train/Start training"],
    "test_drop_a_folder_read_a_long_name_export_and_clear": [
        "menu/File/Open checkpoint…", "Classify/Where it looks", "Classify/Export shown rows…", "Classify/Map…",
        "Classify/Clear"],
    "test_a_project_from_nothing_to_sorted_folders": [
        "Project/New project…", "Project/+", "Project/Train", "Project/Sort into folders…",
        "Project/Accept (Enter)", "Project/Exclude (Del)", "Project/Check data…", "Project/Map…"],
    "test_watch_a_folder_as_the_microscope_writes_into_it": [
        "menu/File/Open checkpoint…", "Classify/Watch a folder…", "menu/File/Watch a folder…"],
    "test_a_recorded_slide_live_freeze_and_snapshots_into_a_project_class": [
        "menu/File/Open checkpoint…", "menu/File/Live camera…"],
    "test_the_runtime_menu_runs_the_model_with_openvino_and_says_so": [
        "menu/Options/Runtime on a CPU/OpenVINO", "menu/Options/Runtime on a CPU/PyTorch", "Classify/Clear"],
    "test_first_start_offline_offers_three_ways_to_a_model": [
        "Classify/Choose a checkpoint…", "Classify/Train on your own folder…"],
    "test_evaluate_a_folder_click_a_cell_and_save_the_report": [
        "menu/File/Open checkpoint…", "Evaluate/Choose folder…", "Evaluate/Evaluate the loaded model",
        "Evaluate/Save HTML report…"],
    "test_export_onnx_from_the_model_tab": ["Model/Export as ONNX…", "Model/Export as TorchScript…"],
    "test_make_a_fast_int8_copy_and_classify_with_it": ["Model/Make a fast INT8 copy…"],
    "test_the_menus_open_classify_copy_and_quit": [
        "menu/File/Open images…", "menu/File/Open folder…", "menu/File/Export shown results as CSV…",
        "menu/Edit/Select all", "menu/Edit/Copy selected rows", "menu/Edit/Clear results",
        "menu/Options/Mixed precision (faster)", "menu/Options/Test-time augmentation/Mirror image too (2x the work)",
        "menu/Options/Test-time augmentation/Off: the centre crop", "menu/Help/Quick start",
        "menu/Help/About resnet-gui", "menu/File/Quit"],
    "test_try_the_example_from_the_help_menu": ["menu/Help/Try the example"],
    "test_find_the_learning_rate_then_train_and_save_a_copy": [
        "Train/Advanced settings", "Train/Train the last layer only", "Train/Find…", "Train/Start training",
        "Train/Save as…"],
    "test_the_class_buttons_and_add_pictures": [
        "menu/File/Open project…", "Project/+", "Project/Rename", "Project/Colour", "Project/Add pictures…",
        "Project/Merge…", "Project/Delete"],
    "test_a_moved_project_fits_the_screen_and_finds_its_missing_files": ["Project/Find missing…"],
    "test_a_stopped_project_run_resumes_from_the_project_tab": ["Project/Train", "Train/Stop", "Project/Resume run"],
    "test_two_runs_side_by_side_and_one_pinned_as_the_model": ["menu/File/Open project…", "Project/Runs…"],
    "test_the_check_of_the_data_lists_what_it_found_and_the_review_keys_act_on_it": [
        "menu/File/Open project…", "Project/Check data…", "Project/Keep as it is (K)", "menu/Edit/Undo",
        "menu/Edit/Redo"],
}

NOT_CLICKED = {
    # Each with the reason, and where it is tested instead.
    "Classify/Cancel": "stops a running classification; clicked in tests/gui/test_gui_classify.py while a run goes",
    "Classify/Try the example": "trains the example for minutes; tests/gui/test_gui_first_hour.py runs the example",
    "Project/Try the example": "the same example as Help › Try the example (tests/gui/test_gui_first_hour.py)",
    "Project/Open project…": "the same dialog as File › Open project…; tests/gui/test_gui_project.py opens projects",
    "menu/File/New project…": "the same as the Project tab's New project…, which the project journey clicks",
    "menu/File/Recent projects":
        "a sub-menu filled when it opens; tests/journeys/test_journey_project.py reopens a project",
    "menu/Edit/Cancel classification": "Esc while a run goes; tests/gui/test_gui_classify.py cancels a run",
    "menu/Options/Test-time augmentation/Five crops (5x)": "one of the same group as the two the menu journey clicks",
    "menu/Options/Test-time augmentation/Ten crops, as the ResNet paper tested (10x)":
        "one of the same group as the two the menu journey clicks",
    "menu/Options/Runtime on a CPU/Automatic: OpenVINO when it is installed and agrees":
        "the default; tests/core/inference/test_openvino_runtime.py tests the automatic choice",
    "menu/Help/Open the documentation": "opens the system's web browser (tests/gui/test_gui_seams.py)",
    "menu/Help/Show the log folder": "opens the system's file manager (tests/gui/test_gui_seams.py)",
    "Model/bioimage.io package…":
        "a minute of bioimage.io's own checks; tests/core/trust/test_reach.py exports a package",
    "Project/Import": "a menu of two imports; tests/core/projects/test_project.py imports class folders and CSVs",
    "Project/Predict": "runs after every project training by itself (the project journey), and in test_gui_project",
    "Project/One side per subfolder": "a setting of the split, tested in tests/core/projects/test_project.py",
    "Train/Colour jitter": "a setting (augmentation)", "Train/Horizontal flip": "a setting (augmentation)",
    "Train/Vertical flip": "a setting (augmentation)", "Train/Random resized crop": "a setting (augmentation)",
    "Train/Rotation (±15°)": "a setting (augmentation)", "Train/Mixed precision": "a setting (Options menu too)",
}
